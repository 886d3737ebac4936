// App-wide state: the API client and its tokens, the conversation (kept
// in localStorage), the cart (always from the server: REST answers, chat
// replies and {type:"cart"} events), the connection status, notices, and
// which overlay is open.  One ChatSocket per page.
import { createContext, useCallback, useContext, useEffect, useMemo, useRef, useState, type ReactNode } from 'react'
import { Api, ApiError, newId, wsUrl, type AuthState } from './api/client'
import type { Address, Cart, ServerFrame } from './api/types'
import { ChatSocket, type SocketStatus } from './chat/socket'
import {
  addUserMessage, applyDelta, applyError, applyReply, loadConversation, markSent, saveConversation, unanswered,
  CHAT_KEY, type ChatMessage,
} from './chat/conversation'

export interface Notice {
  id: number
  kind: 'info' | 'error' | 'rate'
  text: string
}

export type Overlay = null | 'cart' | 'signin' | 'signup' | 'checkout'

/* what the chat hands the checkout page (a reply's open_checkout action):
 * the address it collected and the delivery option chosen */
export interface CheckoutPrefill {
  address?: Partial<Address>
  delivery?: string
}

export interface AppState {
  api: Api
  auth: AuthState
  messages: ChatMessage[]
  cart: Cart | null
  conn: { status: SocketStatus; retryInMs?: number }
  notices: Notice[]
  overlay: Overlay
  /* what to open after a successful sign-in (e.g. checkout) */
  afterAuth: Overlay
  /* the chat's hand-over to the checkout (null: none) */
  prefill: CheckoutPrefill | null
  openCheckout: (p: CheckoutPrefill | null) => void
  send: (text: string) => void
  setCart: (c: Cart) => void
  refreshCart: () => Promise<void>
  addToCart: (sku: string, title?: string) => Promise<void>
  notify: (kind: Notice['kind'], text: string) => void
  dismiss: (id: number) => void
  reportError: (e: unknown) => void
  open: (o: Overlay, after?: Overlay) => void
  signedIn: () => void
  signOut: () => Promise<void>
  clearConversation: () => void
}

const Ctx = createContext<AppState | null>(null)

export function useApp(): AppState {
  const v = useContext(Ctx)
  if (!v) throw new Error('useApp outside AppProvider')
  return v
}

export interface AppProviderProps {
  children: ReactNode
  api?: Api
  /* false in tests that do not want a WebSocket */
  connect?: boolean
  WebSocketImpl?: typeof WebSocket
}

export function AppProvider({ children, api: given, connect = true, WebSocketImpl }: AppProviderProps) {
  const api = useMemo(() => given ?? new Api(), [given])
  const [auth, setAuth] = useState<AuthState>(api.auth)
  const [messages, setMessages] = useState<ChatMessage[]>(loadConversation)
  const [cart, setCartState] = useState<Cart | null>(null)
  const [conn, setConn] = useState<{ status: SocketStatus; retryInMs?: number }>({ status: 'connecting' })
  const [notices, setNotices] = useState<Notice[]>([])
  const [overlay, setOverlay] = useState<Overlay>(null)
  const [afterAuth, setAfterAuth] = useState<Overlay>(null)
  const [prefill, setPrefill] = useState<CheckoutPrefill | null>(null)
  const socket = useRef<ChatSocket | null>(null)
  const noticeId = useRef(0)

  useEffect(() => api.onAuth(setAuth), [api])
  useEffect(() => saveConversation(messages), [messages])

  const notify = useCallback((kind: Notice['kind'], text: string) => {
    const id = ++noticeId.current
    setNotices((n) => [...n.filter((x) => x.text !== text), { id, kind, text }].slice(-3))
    setTimeout(() => setNotices((n) => n.filter((x) => x.id !== id)), kind === 'info' ? 4000 : 8000)
  }, [])
  const dismiss = useCallback((id: number) => setNotices((n) => n.filter((x) => x.id !== id)), [])
  const reportError = useCallback((e: unknown) => {
    if (e instanceof ApiError) notify(e.status === 429 ? 'rate' : 'error', e.describe())
    else notify('error', String(e instanceof Error ? e.message : e))
  }, [notify])

  const setCart = useCallback((c: Cart) => setCartState(c), [])
  const refreshCart = useCallback(async () => {
    try {
      setCartState(await api.cart())
    } catch (e) {
      reportError(e)
    }
  }, [api, reportError])

  const onFrame = useCallback((f: ServerFrame) => {
    switch (f.type) {
      case 'session':
        api.adoptSession(f.sessionId, f.sessionToken)
        break
      case 'delta':
        setMessages((m) => applyDelta(m, f.text, f.clientMsgId))
        break
      case 'reply':
        setMessages((m) => applyReply(m, f))
        if (f.cart && Array.isArray(f.cart.items)) setCartState(f.cart)
        break
      case 'cart':
        if (f.cart) setCartState(f.cart)
        break
      case 'error':
        if (f.status === 429)
          notify('rate', `Slow down: you are sending messages too fast. Your message will be sent again in ${f.retryAfter ?? 1} s.`)
        else if (f.status === 503)
          notify('error', 'The assistant is busy; your message will be retried.')
        else if (!f.clientMsgId && f.status !== 401)
          notify('error', f.detail ? `${f.title ?? 'Error'}: ${f.detail}` : f.title ?? 'Error')
        setMessages((m) => applyError(m, f))
        break
    }
  }, [api, notify])

  // the socket follows the identity: a login or logout reconnects it
  const identity = auth.accessToken ? `user:${auth.user?.id}` : `anon:${auth.sessionId ?? ''}`
  useEffect(() => {
    if (!connect) return
    const s = new ChatSocket({
      getToken: () => api.ensureToken(),
      url: wsUrl,
      onFrame: (f) => {
        onFrame(f)
        if (f.type === 'hello') setMessages((m) => markSent(m, new Set(s.pending())))
      },
      onStatus: (status, info) => setConn({ status, retryInMs: info.retryInMs }),
      onAuthRefused: async () => {
        if (api.auth.accessToken) await api.refresh().catch(() => {})
        else await api.startSession().catch(() => {})
      },
      WebSocketImpl,
    })
    socket.current = s
    // messages written before a reload and never answered go out again,
    // under their first clientMsgId (the server answers each once)
    for (const m of unanswered(loadConversation())) s.send({ type: 'message', text: m.text, clientMsgId: m.clientMsgId! })
    s.start()
    return () => {
      s.stop()
      socket.current = null
    }
  }, [api, connect, identity.split(':')[0], auth.user?.id, WebSocketImpl])

  useEffect(() => {
    refreshCart()
  }, [identity, refreshCart])

  const send = useCallback((text: string) => {
    const t = text.trim()
    if (!t) return
    const id = newId()
    const online = socket.current?.status === 'open'
    setMessages((m) => addUserMessage(m, t, id, online))
    socket.current?.send({ type: 'message', text: t, clientMsgId: id })
  }, [])

  const addToCart = useCallback(async (sku: string, title?: string) => {
    try {
      setCartState(await api.addToCart(sku, 1))
      notify('info', `${title ?? sku} added to your cart.`)
    } catch (e) {
      reportError(e)
    }
  }, [api, notify, reportError])

  const open = useCallback((o: Overlay, after: Overlay = null) => {
    setOverlay(o)
    setAfterAuth(after)
  }, [])

  const openCheckout = useCallback((p: CheckoutPrefill | null) => {
    setPrefill(p)
    setOverlay('checkout')
    setAfterAuth(null)
  }, [])

  const signedIn = useCallback(() => {
    setOverlay(afterAuth)
    setAfterAuth(null)
  }, [afterAuth])

  const signOut = useCallback(async () => {
    await api.logout()
    setMessages([])
    localStorage.removeItem(CHAT_KEY)
    setOverlay(null)
    notify('info', 'You are signed out.')
  }, [api, notify])

  const clearConversation = useCallback(() => setMessages([]), [])

  const value: AppState = {
    api, auth, messages, cart, conn, notices, overlay, afterAuth, send, setCart, refreshCart, addToCart, notify,
    dismiss, reportError, open, signedIn, signOut, clearConversation, prefill, openCheckout,
  }
  return <Ctx.Provider value={value}>{children}</Ctx.Provider>
}
