// The chat page: the conversation (a log that screen readers announce),
// streaming replies, product cards, suggestion chips, the connection
// status, and the message box.
import { memo, useCallback, useEffect, useRef, useState, useSyncExternalStore, type FormEvent } from 'react'
import { useActions, useAuth, useConn, useMessages, useStream } from '../state'
import { useTitle } from '../router'
import { ProductCard } from '../components/product'
import type { ChatMessage } from '../chat/conversation'

const STARTERS = ['Show me men\'s shoes', 'Laptops under $1500', 'What is in my cart?', 'Where is my order?']

// A row of product cards that scrolls sideways, and says so: a faded
// edge and a button on each side where more cards are out of sight.
export function CardStrip({ label, children }: { label: string; children: React.ReactNode }) {
  const strip = useRef<HTMLDivElement>(null)
  const [more, setMore] = useState({ left: false, right: false })
  const measure = useCallback(() => {
    const el = strip.current
    if (!el) return
    const left = el.scrollLeft > 4
    const right = el.scrollLeft + el.clientWidth < el.scrollWidth - 4
    setMore((m) => (m.left === left && m.right === right ? m : { left, right }))
  }, [])
  useEffect(() => {
    measure()
    const el = strip.current
    if (!el || typeof ResizeObserver === 'undefined') return
    const ro = new ResizeObserver(measure)
    ro.observe(el)
    return () => ro.disconnect()
  }, [measure])
  const page = (dir: 1 | -1) => strip.current?.scrollBy({ left: dir * strip.current.clientWidth * 0.8, behavior: 'smooth' })
  const btn = 'absolute top-1/2 z-10 -translate-y-1/2 rounded-full bg-white/95 p-2 text-lg leading-none text-slate-800 shadow ring-1 ring-slate-300 hover:bg-slate-50'
  return (
    <div className="relative w-full" data-testid="card-strip" data-more-left={more.left || undefined} data-more-right={more.right || undefined}>
      <div ref={strip} onScroll={measure} className="-mx-1 flex w-full snap-x gap-3 overflow-x-auto px-1 pb-2" role="group" aria-label={label}>
        {children}
      </div>
      {more.left && (
        <>
          <div aria-hidden="true" className="pointer-events-none absolute inset-y-0 left-0 w-8 bg-gradient-to-r from-slate-50 to-transparent" />
          <button type="button" className={`${btn} left-0`} onClick={() => page(-1)} aria-label="Earlier products" data-testid="cards-prev">‹</button>
        </>
      )}
      {more.right && (
        <>
          <div aria-hidden="true" className="pointer-events-none absolute inset-y-0 right-0 w-8 bg-gradient-to-l from-slate-50 to-transparent" />
          <button type="button" className={`${btn} right-0`} onClick={() => page(1)} aria-label="More products" data-testid="cards-next">›</button>
        </>
      )}
    </div>
  )
}

export function ConnectionBanner() {
  const conn = useConn()
  const [slow, setSlow] = useState(false)
  const [wasOpen, setWasOpen] = useState(false)
  if (conn.status === 'open' && !wasOpen) setWasOpen(true)
  // the first connect of a page usually takes a moment: say nothing for 1.5 s
  useEffect(() => {
    const t = setTimeout(() => setSlow(true), 1500)
    return () => clearTimeout(t)
  }, [])
  if (conn.status === 'open' || (!wasOpen && !slow)) return null
  const text = conn.status === 'connecting'
    ? (wasOpen ? 'Connection lost. Reconnecting now…' : 'Connecting to the assistant…')
    : `Connection lost. Reconnecting${conn.retryInMs ? ` in ${Math.max(1, Math.round(conn.retryInMs / 1000))} s` : ''}. Messages you send now will be delivered when the connection is back.`
  return (
    <div role="status" data-testid="connection-banner"
      className={`rounded-md px-3 py-1.5 text-sm ${conn.status === 'offline' ? 'bg-amber-100 text-amber-900' : 'bg-slate-100 text-slate-700'}`}>
      {text}
    </div>
  )
}

/* how often each message row rendered, by message id (tests only: the
 * build drops it) */
export const rowRenders = new Map<string, number>()

/* the text of a reply being written, from the stream store: this row
 * re-renders on each delta, its neighbours do not */
function StreamingText({ id, fallback, onGrow }: { id: string; fallback: string; onGrow: () => void }) {
  const stream = useStream()
  const subscribe = useCallback((fn: () => void) => stream.subscribe(id, fn), [stream, id])
  const text = useSyncExternalStore(subscribe, () => stream.text(id))
  useEffect(onGrow, [text, onGrow])
  return <>{text || fallback}</>
}

const MessageView = memo(function MessageView({ m, last, onSuggest, onGrow }: {
  m: ChatMessage
  last: boolean
  onSuggest: (s: string) => void
  onGrow: () => void
}) {
  if (import.meta.env.MODE === 'test') rowRenders.set(m.id, (rowRenders.get(m.id) ?? 0) + 1)
  const { addToCart, open, openCheckout } = useActions()
  const auth = useAuth()
  // the reply's own flag says the turn needs a signed-in shopper (never
  // the words of the text)
  const wantsLogin = m.role === 'assistant' && last && !auth.user && !!m.needsLogin
  const handOver = m.role === 'assistant' && last ? m.uiActions?.find((a) => a.type === 'open_checkout') : undefined
  const showCart = m.role === 'assistant' && last ? m.uiActions?.find((a) => a.type === 'show_cart') : undefined
  if (m.role === 'user')
    return (
      <li className="flex flex-col items-end" data-testid="msg-user">
        <p className="max-w-[85%] whitespace-pre-wrap rounded-2xl rounded-br-sm bg-brand-700 px-3 py-2 text-white">
          <span className="sr-only">You said: </span>{m.text}
        </p>
        {m.status === 'queued' && <span className="mt-0.5 text-xs text-amber-700">Waiting for the connection — will be sent automatically</span>}
        {m.status === 'failed' && <span className="mt-0.5 text-xs text-rose-700">Not answered</span>}
      </li>
    )
  if (m.role === 'system')
    return (
      <li className="flex justify-center" data-testid="msg-system">
        <p className="rounded bg-rose-50 px-3 py-1 text-sm text-rose-800">{m.text}</p>
      </li>
    )
  return (
    <li className="flex flex-col items-start gap-2" data-testid="msg-assistant" data-status={m.status}>
      <p className="max-w-[85%] whitespace-pre-wrap rounded-2xl rounded-bl-sm bg-white px-3 py-2 shadow-sm ring-1 ring-slate-200">
        <span className="sr-only">Assistant: </span>
        {m.status === 'streaming' ? <StreamingText id={m.clientMsgId ?? '_'} fallback={m.text} onGrow={onGrow} /> : m.text}
        {m.status === 'streaming' && <span aria-hidden="true" className="ml-0.5 inline-block h-4 w-1.5 animate-pulse bg-slate-400 align-middle" />}
      </p>
      {!!m.cards?.length && (
        <CardStrip label={`${m.cards.length} ${m.cards.length === 1 ? 'product' : 'products'}`}>
          {m.cards.map((c, i) => (
            <ProductCard key={`${c.sku}-${i}`} p={c} index={i} onAdd={addToCart} className="w-[68vw] max-w-56 shrink-0 snap-start" />
          ))}
        </CardStrip>
      )}
      {handOver && (
        <button type="button" data-testid="open-checkout"
          onClick={() => openCheckout({ address: handOver.address, delivery: handOver.delivery })}
          className="rounded-md bg-brand-700 px-3 py-1.5 text-sm font-medium text-white hover:bg-brand-800">{handOver.label || 'Go to checkout'}</button>
      )}
      {showCart && (
        <button type="button" onClick={() => open('cart')}
          className="rounded-md border border-brand-700 px-3 py-1.5 text-sm font-medium text-brand-800 hover:bg-brand-50">{showCart.label || 'Show cart'}</button>
      )}
      {wantsLogin && (
        <div className="flex gap-2" data-testid="login-offer">
          <button type="button" onClick={() => open('signin', m.intent === 'checkout' ? 'checkout' : null)}
            className="rounded-md bg-brand-700 px-3 py-1.5 text-sm font-medium text-white hover:bg-brand-800">Sign in</button>
          <button type="button" onClick={() => open('signup', m.intent === 'checkout' ? 'checkout' : null)}
            className="rounded-md border border-brand-700 px-3 py-1.5 text-sm font-medium text-brand-800 hover:bg-brand-50">Create an account</button>
        </div>
      )}
      {last && (!!m.suggestions?.length || !!m.confirmation) && (
        <div className="flex flex-wrap gap-2" role="group" aria-label="Suggestions">
          {/* a yes/no question the reply's flag says is open */}
          {m.confirmation && ['Yes', 'No'].filter((s) => !m.suggestions?.includes(s)).map((s) => (
            <button key={s} type="button" onClick={() => onSuggest(s.toLowerCase())} data-testid="answer"
              className="rounded-full border border-brand-700 bg-brand-50 px-3 py-1 text-sm font-medium text-brand-800 hover:bg-brand-100">{s}</button>
          ))}
          {(m.suggestions ?? []).map((s) => (
            <button key={s} type="button" onClick={() => onSuggest(s)} data-testid="suggestion"
              className="rounded-full border border-brand-700 bg-white px-3 py-1 text-sm text-brand-800 hover:bg-brand-50">{s}</button>
          ))}
        </div>
      )}
    </li>
  )
})

export function ChatPage() {
  useTitle('Chat')
  const messages = useMessages()
  const conn = useConn()
  const { send, clearConversation } = useActions()
  const [text, setText] = useState('')
  const end = useRef<HTMLDivElement>(null)
  const input = useRef<HTMLTextAreaElement>(null)
  // (in braces: scrollIntoView returns a promise in newer browsers, and an
  // effect may return nothing but its cleanup)
  const toEnd = useCallback(() => {
    end.current?.scrollIntoView?.({ block: 'end' })
  }, [])
  useEffect(toEnd, [messages, toEnd])

  const submit = (e?: FormEvent) => {
    e?.preventDefault()
    if (!text.trim()) return
    send(text)
    setText('')
    input.current?.focus()
  }
  // the newest finished reply carries the offers (suggestions, sign in,
  // checkout): a reply being written takes them over when it is done
  const lastAssistant = [...messages].reverse().find((m) => m.role === 'assistant' && m.status !== 'streaming')
  const waiting = messages.some((m) => m.role === 'user' && m.status === 'sent')
  const latest = lastAssistant?.text ?? ''

  return (
    <div className="flex min-h-0 flex-1 flex-col">
      <h1 className="sr-only">Chat with the shopping assistant</h1>
      {/* screen readers hear each finished reply once, not every delta */}
      <div className="sr-only" aria-live="polite" data-testid="live-reply">{latest}</div>
      <div className="flex-1 overflow-y-auto px-3 py-4">
        {messages.length === 0 ? (
          <div className="mx-auto max-w-lg py-10 text-center">
            <p className="text-xl font-semibold">Hi! What are you shopping for?</p>
            <p className="mt-1 text-slate-600">Ask in your own words: the assistant searches, compares, fills your cart and checks you out.</p>
            <div className="mt-4 flex flex-wrap justify-center gap-2">
              {STARTERS.map((s) => (
                <button key={s} type="button" onClick={() => send(s)} data-testid="suggestion"
                  className="rounded-full border border-brand-700 bg-white px-3 py-1 text-sm text-brand-800 hover:bg-brand-50">{s}</button>
              ))}
            </div>
          </div>
        ) : (
          <ol className="flex flex-col gap-4" aria-label="Conversation" data-testid="conversation">
            {messages.map((m) => <MessageView key={m.id} m={m} last={m === lastAssistant} onSuggest={send} onGrow={toEnd} />)}
          </ol>
        )}
        {waiting && conn.status === 'open' && !messages.some((m) => m.status === 'streaming') && (
          <p className="mt-3 text-sm text-slate-500" aria-hidden="true">The assistant is typing…</p>
        )}
        {/* scroll-margin keeps the newest message clear of the message box */}
        <div ref={end} className="h-px scroll-mb-24" />
      </div>
      <form onSubmit={submit} className="sticky bottom-0 flex items-end gap-2 border-t border-slate-200 bg-white p-3">
        <label htmlFor="chat-input" className="sr-only">Message</label>
        <textarea id="chat-input" ref={input} rows={1} value={text} maxLength={2000} autoFocus
          onChange={(e) => setText(e.target.value)}
          onKeyDown={(e) => {
            if (e.key === 'Enter' && !e.shiftKey) submit(e)
          }}
          placeholder="Message the assistant…"
          className="max-h-32 min-h-10 flex-1 resize-none rounded-md border border-slate-300 px-3 py-2" />
        <button type="submit" disabled={!text.trim()}
          className="rounded-md bg-brand-700 px-4 py-2 font-medium text-white hover:bg-brand-800 disabled:bg-slate-300">Send</button>
        {messages.length > 0 && (
          <button type="button" onClick={clearConversation} className="hidden rounded-md px-2 py-2 text-sm text-slate-600 hover:bg-slate-100 sm:block">Clear</button>
        )}
      </form>
    </div>
  )
}
