import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { ChatSocket, backoffDelay } from './socket'
import { FakeWebSocket, asWS } from '../test/fakes'

function make(extra: Partial<ConstructorParameters<typeof ChatSocket>[0]> = {}) {
  const frames: unknown[] = []
  const statuses: string[] = []
  const s = new ChatSocket({
    getToken: async () => 'tok',
    url: (t) => `ws://x/ws?token=${t}`,
    onFrame: (f) => frames.push(f),
    onStatus: (st) => statuses.push(st),
    WebSocketImpl: asWS,
    random: () => 1,
    ...extra,
  })
  return { s, frames, statuses }
}
const flush = () => vi.advanceTimersByTimeAsync(0)

describe('ChatSocket', () => {
  beforeEach(() => {
    vi.useFakeTimers()
    FakeWebSocket.instances = []
  })
  afterEach(() => vi.useRealTimers())

  it('connects with the token in the URL and is open after hello', async () => {
    const { s, statuses } = make()
    s.start()
    await flush()
    expect(FakeWebSocket.last().url).toBe('ws://x/ws?token=tok')
    expect(s.status).toBe('connecting')
    FakeWebSocket.last().hello()
    expect(s.status).toBe('open')
    expect(statuses).toEqual(['connecting', 'open'])
    s.stop()
  })

  it('queues a message written while offline and sends it once, with its clientMsgId, when connected', async () => {
    const { s } = make()
    s.send({ type: 'message', text: 'hi', clientMsgId: 'm1' })
    s.start()
    await flush()
    const ws = FakeWebSocket.last()
    expect(ws.messages()).toEqual([])
    ws.hello()
    expect(ws.messages()).toEqual([{ type: 'message', text: 'hi', clientMsgId: 'm1' }])
    ws.receive({ type: 'reply', clientMsgId: 'm1', text: 'hello' })
    expect(s.pending()).toEqual([])
    s.stop()
  })

  it('reconnects with exponential backoff and resends only unanswered messages', async () => {
    const { s, statuses } = make({ baseDelayMs: 100, maxDelayMs: 1000 })
    s.start()
    await flush()
    let ws = FakeWebSocket.last()
    ws.hello()
    s.send({ type: 'message', text: 'a', clientMsgId: 'a' })
    s.send({ type: 'message', text: 'b', clientMsgId: 'b' })
    ws.receive({ type: 'reply', clientMsgId: 'a', text: 'A' })
    ws.drop()
    expect(s.status).toBe('offline')
    expect(statuses.at(-1)).toBe('offline')
    // first retry after 100 ms (random()=1 → full delay)
    await vi.advanceTimersByTimeAsync(99)
    expect(FakeWebSocket.instances).toHaveLength(1)
    await vi.advanceTimersByTimeAsync(1)
    expect(FakeWebSocket.instances).toHaveLength(2)
    // that one fails too: the next wait doubles
    FakeWebSocket.last().drop()
    await vi.advanceTimersByTimeAsync(199)
    expect(FakeWebSocket.instances).toHaveLength(2)
    await vi.advanceTimersByTimeAsync(1)
    ws = FakeWebSocket.last()
    ws.hello()
    expect(ws.messages().map((m) => m.clientMsgId)).toEqual(['b'])
    s.stop()
  })

  it('caps the backoff and adds jitter', () => {
    expect(backoffDelay(0, 500, 15000, () => 1)).toBe(500)
    expect(backoffDelay(3, 500, 15000, () => 1)).toBe(4000)
    expect(backoffDelay(20, 500, 15000, () => 1)).toBe(15000)
    expect(backoffDelay(20, 500, 15000, () => 0)).toBe(7500)
  })

  it('after a 429 sends the same message again once retryAfter has passed', async () => {
    const { s, frames } = make()
    s.start()
    await flush()
    const ws = FakeWebSocket.last()
    ws.hello()
    s.send({ type: 'message', text: 'x', clientMsgId: 'x1' })
    ws.receive({ type: 'error', status: 429, code: 'rate-limited', clientMsgId: 'x1', retryAfter: 2 })
    expect(frames.at(-1)).toMatchObject({ type: 'error', status: 429 })
    await vi.advanceTimersByTimeAsync(1999)
    expect(ws.messages()).toHaveLength(1)
    await vi.advanceTimersByTimeAsync(1)
    expect(ws.messages()).toHaveLength(2)
    expect(ws.messages()[1].clientMsgId).toBe('x1')
    s.stop()
  })

  it('gets a new token when the server refuses one (close 4401) and reconnects at once', async () => {
    let n = 0
    const refused = vi.fn(async () => {})
    const { s } = make({ getToken: async () => `t${++n}`, onAuthRefused: refused })
    s.start()
    await flush()
    FakeWebSocket.last().receive({ type: 'error', status: 401, code: 'token-expired' })
    FakeWebSocket.last().drop(4401)
    await flush()
    await flush()
    expect(refused).toHaveBeenCalledOnce()
    expect(FakeWebSocket.last().url).toContain('token=t2')
    s.stop()
  })

  it('sends frames like a traces subscription after every connect', async () => {
    const { s } = make({ onOpenFrames: () => [{ type: 'subscribe', topic: 'traces' }] })
    s.start()
    await flush()
    FakeWebSocket.last().hello()
    expect(FakeWebSocket.last().sent).toContainEqual({ type: 'subscribe', topic: 'traces' })
    s.stop()
  })
})
