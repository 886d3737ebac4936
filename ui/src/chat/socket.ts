// The chat WebSocket with what a phone on a train needs: reconnect with
// exponential backoff and jitter, a queue of messages not yet answered
// (sent once the socket is back, with their original clientMsgId so the
// server answers each one once), a resend after a 429's retryAfter, a
// keep-alive ping, and a fresh token after the server refuses one.
import type { ServerFrame } from '../api/types'

export type SocketStatus = 'connecting' | 'open' | 'offline'

export interface MessageFrame {
  type: 'message'
  text: string
  clientMsgId: string
}

export interface ChatSocketOptions {
  /* a token to connect with (may refresh or start a session first) */
  getToken: () => Promise<string>
  url: (token: string) => string
  onFrame: (f: ServerFrame) => void
  onStatus?: (s: SocketStatus, info: { retryInMs?: number; attempt: number }) => void
  /* the server refused the token (close 4401): get a new one */
  onAuthRefused?: () => Promise<void>
  /* frames sent after every (re)connect, e.g. a traces subscription */
  onOpenFrames?: () => object[]
  WebSocketImpl?: typeof WebSocket
  baseDelayMs?: number
  maxDelayMs?: number
  pingMs?: number
  random?: () => number
}

export function backoffDelay(attempt: number, base: number, max: number, random: () => number): number {
  const d = Math.min(max, base * 2 ** Math.min(attempt, 16))
  return Math.round(d * (0.5 + random() / 2))
}

export class ChatSocket {
  private o: Required<Omit<ChatSocketOptions, 'onStatus' | 'onAuthRefused' | 'onOpenFrames' | 'WebSocketImpl'>> &
    ChatSocketOptions
  private ws: WebSocket | null = null
  private attempt = 0
  private timer: ReturnType<typeof setTimeout> | null = null
  private pinger: ReturnType<typeof setInterval> | null = null
  private stopped = true
  /* messages without an answer yet, in the order they were written */
  private unanswered = new Map<string, MessageFrame>()
  private retryTimers = new Map<string, ReturnType<typeof setTimeout>>()
  status: SocketStatus = 'offline'

  constructor(opts: ChatSocketOptions) {
    this.o = {
      baseDelayMs: 500,
      maxDelayMs: 15000,
      pingMs: 30000,
      random: Math.random,
      ...opts,
    }
  }

  start() {
    if (!this.stopped) return
    this.stopped = false
    this.connect()
    if (typeof window !== 'undefined') window.addEventListener('online', this.onOnline)
  }

  stop() {
    this.stopped = true
    if (typeof window !== 'undefined') window.removeEventListener('online', this.onOnline)
    this.clearTimers()
    for (const t of this.retryTimers.values()) clearTimeout(t)
    this.retryTimers.clear()
    const ws = this.ws
    this.ws = null
    if (ws) {
      ws.onclose = null
      ws.onmessage = null
      ws.onerror = null
      ws.close(1000, 'bye')
    }
    this.setStatus('offline')
  }

  /* reconnect now, e.g. with a new token after login */
  restart() {
    this.stop()
    this.attempt = 0
    this.start()
  }

  /* send a chat message now, or as soon as the socket is back */
  send(frame: MessageFrame) {
    this.unanswered.set(frame.clientMsgId, frame)
    this.transmit(frame)
  }

  /* messages not answered yet (shown as "waiting" in the page) */
  pending(): string[] {
    return [...this.unanswered.keys()]
  }

  /* other frames (subscribe, ping): sent only while open */
  sendRaw(frame: object): boolean {
    if (this.ws && this.status === 'open') {
      this.ws.send(JSON.stringify(frame))
      return true
    }
    return false
  }

  private transmit(frame: MessageFrame) {
    if (this.ws && this.status === 'open' && !this.retryTimers.has(frame.clientMsgId))
      this.ws.send(JSON.stringify(frame))
  }

  private onOnline = () => {
    if (this.status === 'offline' && !this.stopped) {
      this.clearTimers()
      this.connect()
    }
  }

  private setStatus(s: SocketStatus, retryInMs?: number) {
    this.status = s
    this.o.onStatus?.(s, { retryInMs, attempt: this.attempt })
  }

  private clearTimers() {
    if (this.timer) clearTimeout(this.timer)
    if (this.pinger) clearInterval(this.pinger)
    this.timer = null
    this.pinger = null
  }

  private async connect() {
    if (this.stopped) return
    this.setStatus('connecting')
    let token: string
    try {
      token = await this.o.getToken()
    } catch {
      this.scheduleReconnect()
      return
    }
    if (this.stopped) return
    const WS = this.o.WebSocketImpl ?? WebSocket
    let ws: WebSocket
    try {
      ws = new WS(this.o.url(token))
    } catch {
      this.scheduleReconnect()
      return
    }
    this.ws = ws
    let authRefused = false
    ws.onmessage = (ev) => {
      let f: ServerFrame
      try {
        f = JSON.parse(String(ev.data))
      } catch {
        return
      }
      if (f.type === 'hello') {
        this.attempt = 0
        this.setStatus('open')
        for (const extra of this.o.onOpenFrames?.() ?? []) ws.send(JSON.stringify(extra))
        for (const m of this.unanswered.values()) this.transmit(m)
        this.pinger = setInterval(() => this.sendRaw({ type: 'ping' }), this.o.pingMs)
      } else if (f.type === 'reply' && f.clientMsgId) {
        this.unanswered.delete(f.clientMsgId)
      } else if (f.type === 'error') {
        if (f.status === 401) authRefused = true
        if (f.clientMsgId && this.unanswered.has(f.clientMsgId)) {
          if (f.status === 429 || f.status === 503) {
            const id = f.clientMsgId
            const wait = Math.max(1, f.retryAfter ?? 1) * 1000
            this.retryTimers.set(id, setTimeout(() => {
              this.retryTimers.delete(id)
              const m = this.unanswered.get(id)
              if (m) this.transmit(m)
            }, wait))
          } else {
            this.unanswered.delete(f.clientMsgId)
          }
        }
      }
      this.o.onFrame(f)
    }
    ws.onclose = (ev) => {
      if (this.ws !== ws) return
      this.ws = null
      this.clearTimers()
      if (this.stopped) return
      if ((ev.code === 4401 || authRefused) && this.o.onAuthRefused) {
        this.o.onAuthRefused().finally(() => this.scheduleReconnect(true))
        return
      }
      this.scheduleReconnect()
    }
    ws.onerror = () => {
      /* onclose follows */
    }
  }

  private scheduleReconnect(now = false) {
    if (this.stopped) return
    const delay = now ? 0 : backoffDelay(this.attempt, this.o.baseDelayMs, this.o.maxDelayMs, this.o.random)
    this.attempt++
    this.setStatus('offline', delay)
    this.timer = setTimeout(() => {
      this.timer = null
      this.connect()
    }, delay)
  }
}
