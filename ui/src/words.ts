// Counts in words: "1 item", "2 items", "1 error" — one function, so no
// page says "1 items" or "1 errors".
export const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`
