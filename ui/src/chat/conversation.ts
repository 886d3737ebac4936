// The conversation as the page shows it, and how server frames change it.
// Pure functions, so that the same rules run in tests and in the page.
import type { Action, Card, Confirmation, ErrorFrame, ReplyFrame, UiAction } from '../api/types'

export interface ChatMessage {
  id: string
  role: 'user' | 'assistant' | 'system'
  text: string
  at: number
  clientMsgId?: string
  /* user messages: queued (not sent yet), sent (waiting for the answer),
   * answered, failed; assistant messages: streaming while deltas arrive */
  status?: 'queued' | 'sent' | 'answered' | 'failed' | 'streaming' | 'done'
  cards?: Card[]
  suggestions?: string[]
  actions?: Action[]
  traceId?: string
  intent?: string
  /* the reply's flags (server-driven): sign in offered, a question open,
   * what the page may do (open the checkout ...) */
  needsLogin?: boolean
  confirmation?: Confirmation | null
  uiActions?: UiAction[]
}

export const CHAT_KEY = 'aisle.chat.v1'
const KEEP = 200

export function loadConversation(): ChatMessage[] {
  try {
    const v = JSON.parse(localStorage.getItem(CHAT_KEY) ?? '[]')
    return Array.isArray(v) ? v : []
  } catch {
    return []
  }
}

export function saveConversation(msgs: ChatMessage[]) {
  try {
    localStorage.setItem(CHAT_KEY, JSON.stringify(msgs.slice(-KEEP)))
  } catch {
    /* storage full or disabled: the conversation lives for this page only */
  }
}

export function addUserMessage(msgs: ChatMessage[], text: string, clientMsgId: string, online: boolean): ChatMessage[] {
  return [
    ...msgs,
    { id: `u-${clientMsgId}`, role: 'user', text, at: Date.now(), clientMsgId, status: online ? 'sent' : 'queued' },
  ]
}

export function markSent(msgs: ChatMessage[], ids: Set<string>): ChatMessage[] {
  return msgs.map((m) => (m.role === 'user' && m.status === 'queued' && m.clientMsgId && ids.has(m.clientMsgId)
    ? { ...m, status: 'sent' } : m))
}

export function applyDelta(msgs: ChatMessage[], text: string, clientMsgId?: string): ChatMessage[] {
  const key = clientMsgId ?? '_'
  const i = msgs.findIndex((m) => m.role === 'assistant' && m.clientMsgId === key)
  if (i >= 0) {
    if (msgs[i].status !== 'streaming') return msgs
    const next = msgs.slice()
    next[i] = { ...msgs[i], text: msgs[i].text + text }
    return next
  }
  return [...msgs, { id: `a-${key}`, role: 'assistant', text, at: Date.now(), clientMsgId: key, status: 'streaming' }]
}

export function applyReply(msgs: ChatMessage[], f: ReplyFrame): ChatMessage[] {
  const key = f.clientMsgId ?? `t-${f.traceId ?? Date.now()}`
  const reply: ChatMessage = {
    id: `a-${key}`,
    role: 'assistant',
    text: f.text ?? '',
    at: Date.now(),
    clientMsgId: key,
    status: 'done',
    cards: f.cards ?? [],
    suggestions: f.suggestions ?? [],
    actions: f.actions ?? [],
    traceId: f.traceId,
    intent: f.intent?.name,
    needsLogin: f.needsLogin ?? false,
    confirmation: f.confirmation ?? null,
    uiActions: f.uiActions ?? [],
  }
  let next = msgs.map((m) => (m.role === 'user' && m.clientMsgId === key ? { ...m, status: 'answered' as const } : m))
  const i = next.findIndex((m) => m.role === 'assistant' && m.clientMsgId === key)
  if (i >= 0) {
    // a replayed answer to a message we already have an answer for changes nothing
    if (next[i].status === 'done' && f.replayed) return next
    next = next.slice()
    next[i] = { ...reply, at: next[i].at }
    return next
  }
  // the answer goes right after its question even if others came since
  const q = next.findIndex((m) => m.role === 'user' && m.clientMsgId === key)
  if (q >= 0) {
    let at = q + 1
    while (at < next.length && next[at].role !== 'user') at++
    return [...next.slice(0, at), reply, ...next.slice(at)]
  }
  return [...next, reply]
}

export function applyError(msgs: ChatMessage[], f: ErrorFrame): ChatMessage[] {
  if (!f.clientMsgId || f.status === 429 || f.status === 503) return msgs
  const text = f.detail ? `${f.title ?? 'Error'}: ${f.detail}` : f.title ?? 'The message could not be answered.'
  const next = msgs.map((m) => (m.role === 'user' && m.clientMsgId === f.clientMsgId ? { ...m, status: 'failed' as const } : m))
  return [...next, { id: `e-${f.clientMsgId}`, role: 'system', text, at: Date.now(), clientMsgId: f.clientMsgId }]
}

/* the server remembers a clientMsgId's answer for 24 h: older unanswered
 * messages are not sent again (they would run a second time) */
const RESEND_WINDOW_MS = 23 * 3600 * 1000

/* user messages still waiting for an answer (sent again after a reload) */
export function unanswered(msgs: ChatMessage[], now = Date.now()): ChatMessage[] {
  return msgs.filter((m) => m.role === 'user' && (m.status === 'queued' || m.status === 'sent') && now - m.at < RESEND_WINDOW_MS)
}
