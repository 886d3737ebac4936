// Test doubles: a WebSocket the test drives by hand, and a fetch that
// answers from a table of routes.
import { vi } from 'vitest'

export class FakeWebSocket {
  static instances: FakeWebSocket[] = []
  static last(): FakeWebSocket {
    return FakeWebSocket.instances[FakeWebSocket.instances.length - 1]
  }
  url: string
  sent: unknown[] = []
  closed = false
  onmessage: ((ev: { data: string }) => void) | null = null
  onclose: ((ev: { code: number }) => void) | null = null
  onerror: (() => void) | null = null
  onopen: (() => void) | null = null
  constructor(url: string) {
    this.url = url
    FakeWebSocket.instances.push(this)
  }
  send(data: string) {
    this.sent.push(JSON.parse(data))
  }
  close() {
    this.closed = true
  }
  /* server side */
  receive(frame: object) {
    this.onmessage?.({ data: JSON.stringify(frame) })
  }
  hello() {
    this.receive({ type: 'hello', sessionId: 's1' })
  }
  drop(code = 1006) {
    this.closed = true
    this.onclose?.({ code })
  }
  messages(): { type: string; text: string; clientMsgId: string }[] {
    return this.sent.filter((f) => (f as { type: string }).type === 'message') as never
  }
}

export const asWS = FakeWebSocket as unknown as typeof WebSocket

export type Handler = (req: { method: string; url: string; body: unknown; headers: Record<string, string> }) =>
  | { status?: number; body?: unknown; headers?: Record<string, string> }
  | undefined

export interface Call {
  method: string
  url: string
  body: unknown
  headers: Record<string, string>
}

/* fetch answering "METHOD /path" keys (path without /api/v1 and query) */
export function mockFetch(routes: Record<string, Handler | object>) {
  const calls: Call[] = []
  const fn = vi.fn(async (input: string, init: RequestInit = {}) => {
    const method = (init.method ?? 'GET').toUpperCase()
    const url = String(input)
    const path = url.replace(/^.*\/api\/v1/, '').split('?')[0]
    const headers = (init.headers ?? {}) as Record<string, string>
    const body = init.body ? JSON.parse(String(init.body)) : undefined
    const req = { method, url, body, headers }
    calls.push(req)
    const r = routes[`${method} ${path}`]
    const spec = (v: object) => ('status' in v && 'body' in v ? v : { body: v }) as ReturnType<Handler>
    const out = typeof r === 'function' ? (r as Handler)(req) : r !== undefined ? spec(r)
      : { status: 404, body: { type: 'urn:aisle:problem:not-found', title: 'Not found' } }
    const status = out?.status ?? 200
    return new Response(status === 204 ? null : JSON.stringify(out?.body ?? {}), {
      status,
      headers: { 'Content-Type': status >= 400 ? 'application/problem+json' : 'application/json', ...(out?.headers ?? {}) },
    })
  })
  vi.stubGlobal('fetch', fn)
  return calls
}

/* a JWT-shaped token (unsigned) that expires in `s` seconds */
export function fakeJwt(claims: object = {}, s = 3600): string {
  const b = (o: object) => btoa(JSON.stringify(o)).replace(/=+$/, '').replace(/\+/g, '-').replace(/\//g, '_')
  return `${b({ alg: 'HS256', typ: 'JWT' })}.${b({ exp: Math.floor(Date.now() / 1000) + s, ...claims })}.sig`
}

export const emptyCart = { id: 'anon:s1', items: [], count: 0, subtotal: 0, total: 0, discounts: [], discountTotal: 0 }
