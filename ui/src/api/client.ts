// REST client for /api/v1: keeps the tokens (anonymous session token, or a
// user's access token) in localStorage -- the refresh token lives only in
// the server's HttpOnly cookie -- refreshes the access token before it
// expires and once on a 401, and turns problem+json
// answers into ApiError (429 carries Retry-After).  Each endpoint's answer
// is typed as gateway/openapi.json declares it for that path (Ok<>).
import type { Address, CheckoutInput, Ok, User } from './types'

export class ApiError extends Error {
  status: number
  code: string
  detail?: string
  retryAfter?: number
  /* the part of the request that is wrong ("address.postalCode"), when the server names it */
  field?: string
  constructor(status: number, code: string, title: string, detail?: string, retryAfter?: number, field?: string) {
    super(title)
    this.status = status
    this.code = code
    this.detail = detail
    this.retryAfter = retryAfter
    this.field = field
  }
  /* a sentence for a person */
  describe(): string {
    if (this.status === 429)
      return `Slow down: too many requests. Try again in ${this.retryAfter ?? 1} s.`
    if (this.status === 0) return 'Cannot reach the server. Check your connection.'
    return this.detail ? `${this.message}: ${this.detail}` : this.message
  }
}

export interface AuthState {
  sessionToken?: string
  sessionId?: string
  accessToken?: string
  user?: User
}

const AUTH_KEY = 'aisle.auth'

/* seconds since the epoch when a JWT expires; 0 when unreadable */
export function jwtExp(token: string | undefined): number {
  if (!token) return 0
  try {
    const part = token.split('.')[1]
    const json = atob(part.replace(/-/g, '+').replace(/_/g, '/'))
    const exp = JSON.parse(json).exp
    return typeof exp === 'number' ? exp : 0
  } catch {
    return 0
  }
}

/* The refresh token is never here: the server keeps it in an HttpOnly
 * cookie only /auth/refresh receives (one a page's script could read
 * would be one an injected script could steal).  A refresh token an
 * older page left in storage is dropped. */
function loadAuth(): AuthState {
  try {
    const v = JSON.parse(localStorage.getItem(AUTH_KEY) ?? '{}')
    if (!v || typeof v !== 'object') return {}
    if ('refreshToken' in v) {
      delete v.refreshToken
      localStorage.setItem(AUTH_KEY, JSON.stringify(v))
    }
    return v
  } catch {
    return {}
  }
}

export interface RequestOptions {
  body?: unknown
  headers?: Record<string, string>
  /* false: send no token (public endpoints) */
  auth?: boolean
}

type Listener = (a: AuthState) => void

export class Api {
  private base: string
  private state: AuthState
  private listeners = new Set<Listener>()
  private refreshing: Promise<void> | null = null
  private starting: Promise<void> | null = null

  constructor(base = '') {
    this.base = base
    this.state = loadAuth()
  }

  get auth(): AuthState {
    return this.state
  }

  onAuth(fn: Listener): () => void {
    this.listeners.add(fn)
    return () => this.listeners.delete(fn)
  }

  private setAuth(next: AuthState) {
    this.state = next
    localStorage.setItem(AUTH_KEY, JSON.stringify(next))
    for (const l of this.listeners) l(next)
  }

  /* the bearer token of this browser: the user's access token when logged in */
  token(): string | undefined {
    return this.state.accessToken ?? this.state.sessionToken
  }

  /* a valid token, starting an anonymous session or refreshing first when needed */
  async ensureToken(): Promise<string> {
    const now = Date.now() / 1000
    if (this.state.accessToken) {
      if (jwtExp(this.state.accessToken) - 30 < now) await this.refresh()
      if (this.state.accessToken) return this.state.accessToken
    }
    if (!this.state.sessionToken || jwtExp(this.state.sessionToken) - 30 < now) await this.startSession()
    return this.state.sessionToken!
  }

  async startSession(): Promise<void> {
    if (!this.starting) {
      this.starting = (async () => {
        const r = await this.raw<Ok<'/api/v1/auth/anonymous', 'post'>>('POST', '/auth/anonymous', { auth: false })
        this.setAuth({ sessionToken: r.sessionToken, sessionId: r.sessionId })
      })().finally(() => {
        this.starting = null
      })
    }
    return this.starting
  }

  /* the session token the server gave a WebSocket that connected without one */
  adoptSession(sessionId: string, sessionToken: string) {
    if (!this.state.accessToken) this.setAuth({ ...this.state, sessionId, sessionToken })
  }

  async refresh(): Promise<void> {
    if (!this.state.accessToken) {
      this.dropUser()
      return
    }
    if (!this.refreshing) {
      this.refreshing = (async () => {
        try {
          // the refresh token travels as the HttpOnly cookie, by itself
          const t = await this.raw<Ok<'/api/v1/auth/refresh', 'post'>>('POST', '/auth/refresh', { auth: false })
          this.acceptTokens(t)
        } catch (e) {
          // a refresh the server refuses (expired, reused) ends the login;
          // a network error keeps it for the next try
          if (e instanceof ApiError && e.status === 401) this.dropUser()
          else throw e
        }
      })().finally(() => {
        this.refreshing = null
      })
    }
    return this.refreshing
  }

  private dropUser() {
    const { sessionToken, sessionId } = this.state
    this.setAuth({ sessionToken, sessionId })
  }

  private acceptTokens(t: Ok<'/api/v1/auth/login', 'post'>) {
    this.setAuth({
      sessionToken: this.state.sessionToken,
      sessionId: t.sessionId,
      accessToken: t.accessToken,
      user: t.user,
    })
  }

  async login(email: string, password: string): Promise<User> {
    // sent with the anonymous session's token: the server keeps the
    // conversation and merges the anonymous cart into the user's
    const t = await this.request<Ok<'/api/v1/auth/login', 'post'>>('POST', '/auth/login', { body: { email, password, refreshCookie: true } })
    this.acceptTokens(t)
    return t.user
  }

  async register(email: string, password: string, name: string): Promise<User> {
    const t = await this.request<Ok<'/api/v1/auth/register', 'post'>>('POST', '/auth/register', { body: { email, password, name, refreshCookie: true } })
    this.acceptTokens(t)
    return t.user
  }

  async logout(): Promise<void> {
    // the access token names the refresh family the server revokes; the
    // answer clears the cookie
    const at = this.state.accessToken
    this.setAuth({})
    if (at) await this.raw('POST', '/auth/logout', { token: at }).catch(() => {})
    await this.startSession().catch(() => {})
  }

  /* one request, without token handling */
  async raw<T>(method: string, path: string, opts: RequestOptions & { token?: string } = {}): Promise<T> {
    const headers: Record<string, string> = { Accept: 'application/json', ...opts.headers }
    if (opts.body !== undefined) headers['Content-Type'] = 'application/json'
    if (opts.token) headers.Authorization = `Bearer ${opts.token}`
    let res: Response
    try {
      res = await fetch(`${this.base}/api/v1${path}`, {
        method,
        headers,
        body: opts.body !== undefined ? JSON.stringify(opts.body) : undefined,
      })
    } catch {
      throw new ApiError(0, 'network', 'Network error')
    }
    if (res.status === 204) return undefined as T
    const text = await res.text()
    let data: unknown
    try {
      data = text ? JSON.parse(text) : undefined
    } catch {
      /* not JSON: no body to read */
    }
    if (!res.ok) {
      const p = (data ?? {}) as { type?: string; title?: string; detail?: string; field?: string }
      const code = (p.type ?? '').replace(/^urn:aisle:problem:/, '') || `http-${res.status}`
      const ra = Number(res.headers.get('Retry-After'))
      throw new ApiError(res.status, code, p.title ?? res.statusText ?? 'Request failed', p.detail,
        Number.isFinite(ra) && ra > 0 ? ra : res.status === 429 ? 1 : undefined, p.field)
    }
    return data as T
  }

  /* a request with this browser's token; on a 401 for a stale token it
   * refreshes (or starts a new session) and tries once more */
  async request<T>(method: string, path: string, opts: RequestOptions = {}): Promise<T> {
    if (opts.auth === false) return this.raw<T>(method, path, opts)
    const token = await this.ensureToken()
    try {
      return await this.raw<T>(method, path, { ...opts, token })
    } catch (e) {
      if (!(e instanceof ApiError) || e.status !== 401 || !['token-expired', 'invalid-token'].includes(e.code)) throw e
      if (this.state.accessToken) await this.refresh()
      else await this.startSession()
      return this.raw<T>(method, path, { ...opts, token: await this.ensureToken() })
    }
  }

  // --- endpoints -----------------------------------------------------

  search(params: Record<string, string | number | boolean | undefined>): Promise<Ok<'/api/v1/products', 'get'>> {
    const q = new URLSearchParams()
    for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== '' && v !== false) q.set(k, String(v))
    return this.raw('GET', `/products?${q}`)
  }
  product(sku: string): Promise<Ok<'/api/v1/products/{sku}', 'get'>> {
    return this.raw('GET', `/products/${encodeURIComponent(sku)}`)
  }
  cart(): Promise<Ok<'/api/v1/cart', 'get'>> {
    return this.request('GET', '/cart')
  }
  addToCart(sku: string, qty = 1): Promise<Ok<'/api/v1/cart/items', 'post'>> {
    return this.request('POST', '/cart/items', { body: { sku, qty } })
  }
  setQty(sku: string, qty: number): Promise<Ok<'/api/v1/cart/items/{sku}', 'patch'>> {
    return this.request('PATCH', `/cart/items/${encodeURIComponent(sku)}`, { body: { qty } })
  }
  async removeLine(sku: string): Promise<Ok<'/api/v1/cart', 'get'>> {
    await this.request('DELETE', `/cart/items/${encodeURIComponent(sku)}`)
    return this.cart()
  }
  placeOrder(idempotencyKey: string, checkout: CheckoutInput): Promise<Ok<'/api/v1/orders', 'post'>> {
    return this.request('POST', '/orders', { headers: { 'Idempotency-Key': idempotencyKey }, body: checkout })
  }
  /* a resource that may not exist yet: null for a 404 */
  private async orNull<T>(path: string): Promise<T | null> {
    try {
      return await this.request<T>('GET', path)
    } catch (e) {
      if (e instanceof ApiError && e.status === 404) return null
      throw e
    }
  }
  /* the saved delivery address; null when none is saved yet */
  address(): Promise<Ok<'/api/v1/me/address', 'get'> | null> {
    return this.orNull('/me/address')
  }
  /* the saved card (brand and last 4); null when none is saved */
  savedCard(): Promise<Ok<'/api/v1/me/payment-method', 'get'> | null> {
    return this.orNull('/me/payment-method')
  }
  saveAddress(a: Address): Promise<Ok<'/api/v1/me/address', 'put'>> {
    return this.request('PUT', '/me/address', { body: a })
  }
  // with `country` (two letters): only the options that deliver there
  deliveryOptions(country?: string): Promise<Ok<'/api/v1/cart/delivery-options', 'get'>> {
    const q = country && /^[A-Za-z]{2}$/.test(country) ? `?country=${country.toUpperCase()}` : ''
    return this.request('GET', `/cart/delivery-options${q}`)
  }
  orders(): Promise<Ok<'/api/v1/orders', 'get'>> {
    return this.request('GET', '/orders')
  }
  order(id: number | string): Promise<Ok<'/api/v1/orders/{id}', 'get'>> {
    return this.request('GET', `/orders/${encodeURIComponent(String(id))}`)
  }
  cancelOrder(id: number): Promise<Ok<'/api/v1/orders/{id}/cancel', 'post'>> {
    return this.request('POST', `/orders/${id}/cancel`)
  }
  pipelines(): Promise<Ok<'/api/v1/pipelines', 'get'>> {
    return this.request('GET', '/pipelines')
  }
  traces(limit = 50): Promise<Ok<'/api/v1/traces', 'get'>> {
    return this.request('GET', `/traces?limit=${limit}`)
  }
  trace(id: string): Promise<Record<string, unknown>> {
    return this.request('GET', `/traces/${encodeURIComponent(id)}`)
  }
}

export function newId(): string {
  if (typeof crypto !== 'undefined' && 'randomUUID' in crypto) return crypto.randomUUID()
  return `${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 12)}`
}

/* the WebSocket URL of the page's own server: /ws on the page's host, or,
 * when the server runs the chat on its own event-loop port (ws.listen) and
 * the page was not loaded through the proxy that maps /ws, that port (the
 * server says which in <meta name="aisle-ws-port">) */
export function wsUrl(token: string): string {
  const proto = location.protocol === 'https:' ? 'wss:' : 'ws:'
  const port = typeof document !== 'undefined'
    ? document.querySelector('meta[name="aisle-ws-port"]')?.getAttribute('content') ?? ''
    : ''
  const host = /^[0-9]{1,5}$/.test(port) ? `${location.hostname.includes(':') ? `[${location.hostname}]` : location.hostname}:${port}` : location.host
  return `${proto}//${host}/ws?token=${encodeURIComponent(token)}`
}

/* "$1,399.99": dollars with thousands grouped and cents; a minus before
 * the sign ("-$5.00"), none on an amount that rounds to zero */
const dollars = new Intl.NumberFormat('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 })
export const money = (v: number | null | undefined) =>
  v === undefined || v === null || Number.isNaN(v) ? '' : `${Math.round(v * 100) < 0 ? '-' : ''}$${dollars.format(Math.abs(v))}`
/* a bound of a price range, cents only when it has them: "$1,000", "$12.5" */
export const wholeDollars = (v: string | number) =>
  Number.isFinite(Number(v)) ? `$${Number(v).toLocaleString('en-US', { maximumFractionDigits: 2 })}` : `$${v}`
