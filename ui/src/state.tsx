// App-wide state: the API client and its tokens, the conversation (kept
// in localStorage), the cart (always from the server: REST answers, chat
// replies and {type:"cart"} events), the connection status, notices, and
// which overlay is open.  One ChatSocket per page.
//
// Each slice is its own context, so that a component re-renders only when
// a slice it reads changes: the actions (api and the functions below) never
// change; auth, cart, connection, notices and overlay each change alone;
// the conversation list changes when a message is added or answered; and
// the reply being written lives in a StreamStore that only its own row
// subscribes to, so a streamed delta re-renders that row and nothing else.
import { createContext, useCallback, useContext, useEffect, useMemo, useRef, useState, type ReactNode } from 'react'
import { Api, ApiError, newId, wsUrl, type AuthState } from './api/client'
import type { Address, Cart, ServerFrame } from './api/types'
import { ChatSocket, type SocketStatus } from './chat/socket'
import { StreamStore } from './chat/stream'
import {
  addUserMessage, applyDelta, applyError, applyReply, loadConversation, markSent, saveConversation, unanswered,
  CHAT_KEY, type ChatMessage,
} from './chat/conversation'

export interface Notice {
  id: number
  kind: 'info' | 'error' | 'rate'
  text: string
  /* a newer notice on the same topic replaces it ("You are signed out"
   * after "Signed in as …" is the news; both at once contradict) */
  topic?: string
}

export type Overlay = null | 'cart' | 'signin' | 'signup' | 'checkout'

/* what the chat hands the checkout page (a reply's open_checkout action):
 * the address it collected and the delivery option chosen */
export interface CheckoutPrefill {
  address?: Partial<Address>
  delivery?: string
}

export interface Conn {
  status: SocketStatus
  retryInMs?: number
}

/* the functions and the client: made once per provider, never changed */
export interface Actions {
  api: Api
  openCheckout: (p: CheckoutPrefill | null) => void
  send: (text: string) => void
  setCart: (c: Cart) => void
  refreshCart: () => Promise<void>
  addToCart: (sku: string, title?: string) => Promise<void>
  notify: (kind: Notice['kind'], text: string, topic?: string) => void
  dismiss: (id: number) => void
  reportError: (e: unknown) => void
  open: (o: Overlay, after?: Overlay) => void
  signedIn: () => void
  signOut: () => Promise<void>
  clearConversation: () => void
}

export interface OverlayState {
  overlay: Overlay
  /* what to open after a successful sign-in (e.g. checkout) */
  afterAuth: Overlay
  /* the chat's hand-over to the checkout (null: none) */
  prefill: CheckoutPrefill | null
}

/* everything but the conversation (useMessages, useStreamingText) */
export interface AppState extends Actions, OverlayState {
  auth: AuthState
  cart: Cart | null
  conn: Conn
  notices: Notice[]
}

const ActionsCtx = createContext<Actions | null>(null)
const AuthCtx = createContext<AuthState>({})
const CartCtx = createContext<Cart | null>(null)
const ConnCtx = createContext<Conn>({ status: 'connecting' })
const NoticesCtx = createContext<Notice[]>([])
const OverlayCtx = createContext<OverlayState>({ overlay: null, afterAuth: null, prefill: null })
const MessagesCtx = createContext<ChatMessage[]>([])
const StreamCtx = createContext<StreamStore | null>(null)

export function useActions(): Actions {
  const v = useContext(ActionsCtx)
  if (!v) throw new Error('useActions outside AppProvider')
  return v
}
export const useAuth = () => useContext(AuthCtx)
export const useCart = () => useContext(CartCtx)
export const useConn = () => useContext(ConnCtx)
export const useNotices = () => useContext(NoticesCtx)
export const useOverlay = () => useContext(OverlayCtx)
/* the conversation: changes when a message is added, answered or fails */
export const useMessages = () => useContext(MessagesCtx)
export function useStream(): StreamStore {
  const v = useContext(StreamCtx)
  if (!v) throw new Error('useStream outside AppProvider')
  return v
}

/* All the slices but the conversation in one object: re-renders with any
 * of them (a sign-in, a cart change, a notice), never with a chat delta.
 * Components that need less read the slice hooks above. */
export function useApp(): AppState {
  return { ...useActions(), ...useOverlay(), auth: useAuth(), cart: useCart(), conn: useConn(), notices: useNotices() }
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
  const [stream] = useState(() => new StreamStore())
  const [cart, setCartState] = useState<Cart | null>(null)
  const [conn, setConn] = useState<Conn>({ status: 'connecting' })
  const [notices, setNotices] = useState<Notice[]>([])
  const [overlay, setOverlay] = useState<OverlayState>({ overlay: null, afterAuth: null, prefill: null })
  const socket = useRef<ChatSocket | null>(null)
  const noticeId = useRef(0)

  useEffect(() => api.onAuth(setAuth), [api])
  useEffect(() => saveConversation(messages), [messages])

  const notify = useCallback((kind: Notice['kind'], text: string, topic?: string) => {
    const id = ++noticeId.current
    setNotices((n) => [...n.filter((x) => x.text !== text && (!topic || x.topic !== topic)), { id, kind, text, topic }].slice(-3))
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
      case 'delta': {
        // the first piece adds the reply's row; the rest go to the store
        const key = f.clientMsgId ?? '_'
        if (stream.append(key, f.text) === 'started') setMessages((m) => applyDelta(m, '', key))
        break
      }
      case 'reply':
        stream.close(f.clientMsgId ?? '_')
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
  }, [api, notify, stream])

  // the socket follows the identity: a login or logout reconnects it
  const signedInAs = auth.accessToken ? auth.user?.id ?? 0 : null
  const identity = signedInAs !== null ? `user:${signedInAs}` : `anon:${auth.sessionId ?? ''}`
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
  }, [api, connect, signedInAs, onFrame, WebSocketImpl])

  // a new identity has its own cart
  useEffect(() => {
    let live = true
    api.cart().then((c) => live && setCartState(c), (e) => live && reportError(e))
    return () => {
      live = false
    }
  }, [api, identity, reportError])

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
    setOverlay((s) => ({ ...s, overlay: o, afterAuth: after }))
  }, [])

  const openCheckout = useCallback((p: CheckoutPrefill | null) => {
    setOverlay({ overlay: 'checkout', afterAuth: null, prefill: p })
  }, [])

  const signedIn = useCallback(() => {
    setOverlay((s) => ({ ...s, overlay: s.afterAuth, afterAuth: null }))
  }, [])

  const clearConversation = useCallback(() => {
    setMessages([])
    stream.clear()
  }, [stream])

  const signOut = useCallback(async () => {
    await api.logout()
    clearConversation()
    localStorage.removeItem(CHAT_KEY)
    setOverlay((s) => ({ ...s, overlay: null }))
    notify('info', 'You are signed out.', 'account')
  }, [api, notify, clearConversation])

  const actions = useMemo<Actions>(() => ({
    api, send, setCart, refreshCart, addToCart, notify, dismiss, reportError, open, signedIn, signOut,
    clearConversation, openCheckout,
  }), [api, send, setCart, refreshCart, addToCart, notify, dismiss, reportError, open, signedIn, signOut,
    clearConversation, openCheckout])

  return (
    <ActionsCtx.Provider value={actions}>
      <AuthCtx.Provider value={auth}>
        <CartCtx.Provider value={cart}>
          <ConnCtx.Provider value={conn}>
            <NoticesCtx.Provider value={notices}>
              <OverlayCtx.Provider value={overlay}>
                <StreamCtx.Provider value={stream}>
                  <MessagesCtx.Provider value={messages}>{children}</MessagesCtx.Provider>
                </StreamCtx.Provider>
              </OverlayCtx.Provider>
            </NoticesCtx.Provider>
          </ConnCtx.Provider>
        </CartCtx.Provider>
      </AuthCtx.Provider>
    </ActionsCtx.Provider>
  )
}
