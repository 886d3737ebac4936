// tests/e2e/lib.mjs — what every browser script of tests/e2e shares: a
// free loopback port for the server under test, and waiting for a
// locator's text to match (Playwright's own expect is not in
// playwright-core).
import { createServer } from 'node:net'

export const T = 10000 // the longest any single step may wait

// A free TCP port on 127.0.0.1 (the kernel picks it; closed before use).
export const freePort = () => new Promise((res) => {
  const srv = createServer().listen(0, '127.0.0.1', () => {
    const p = srv.address().port
    srv.close(() => res(p))
  })
})

// Wait until the first element of `loc` shows text matching `re`; its
// text, or an error naming what it showed instead after `timeout` ms.
export const expectText = async (loc, re, timeout = T) => {
  await loc.first().waitFor({ timeout })
  const deadline = Date.now() + timeout
  for (;;) {
    const t = await loc.first().innerText()
    if (re.test(t)) return t
    if (Date.now() > deadline) throw new Error(`expected ${re} in ${JSON.stringify(t)}`)
    await new Promise((r) => setTimeout(r, 100))
  }
}
