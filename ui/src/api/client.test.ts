import { afterEach, describe, expect, it, vi } from 'vitest'
import { Api, ApiError, jwtExp, wsUrl } from './client'
import { fakeJwt, mockFetch } from '../test/fakes'

describe('Api', () => {
  afterEach(() => vi.unstubAllGlobals())

  it('starts one anonymous session for concurrent requests and keeps it', async () => {
    const calls = mockFetch({
      'POST /auth/anonymous': { sessionId: 's1', sessionToken: fakeJwt() },
      'GET /cart': { items: [], count: 0, subtotal: 0, total: 0 },
    })
    const api = new Api()
    await Promise.all([api.cart(), api.cart()])
    expect(calls.filter((c) => c.url.endsWith('/auth/anonymous'))).toHaveLength(1)
    expect(JSON.parse(localStorage.getItem('aisle.auth')!).sessionId).toBe('s1')
  })

  it('refreshes an expired access token and retries once', async () => {
    const fresh = fakeJwt({ sub: '1' })
    let n = 0
    const calls = mockFetch({
      'POST /auth/refresh': () => ({ body: { accessToken: fresh, expiresIn: 900, sessionId: 's', user: { id: 1, email: 'a@b.c' } } }),
      'GET /orders': (r) => (r.headers.Authorization === `Bearer ${fresh}` ? { body: { items: [] } }
        : (n++, { status: 401, body: { type: 'urn:aisle:problem:token-expired', title: 'Token expired' } })),
    })
    // a refresh token an older page stored is dropped, never sent
    localStorage.setItem('aisle.auth', JSON.stringify({ accessToken: fakeJwt({}, 600), refreshToken: 'r1', user: { id: 1 } }))
    const api = new Api()
    expect(localStorage.getItem('aisle.auth')).not.toContain('r1')
    expect(await api.orders()).toEqual({ items: [] })
    expect(n).toBe(1)
    // the refresh token is the HttpOnly cookie: the request carries none
    const refresh = calls.find((c) => c.url.endsWith('/auth/refresh'))
    expect(refresh?.body).toBeUndefined()
    expect(refresh?.headers.Authorization).toBeUndefined()
    expect(localStorage.getItem('aisle.auth')).not.toMatch(/refresh/i)
  })

  it('asks for the refresh cookie at login and logs out with the access token', async () => {
    const at = fakeJwt({ sub: '1' })
    const calls = mockFetch({
      'POST /auth/anonymous': { sessionId: 's', sessionToken: fakeJwt({ typ: 'session' }) },
      'POST /auth/login': { accessToken: at, expiresIn: 900, sessionId: 's', user: { id: 1, email: 'a@b.c' } },
      'POST /auth/logout': { status: 204 },
    })
    const api = new Api()
    await api.login('a@b.c', 'pw')
    expect(calls.find((c) => c.url.endsWith('/auth/login'))?.body).toMatchObject({ refreshCookie: true })
    expect(localStorage.getItem('aisle.auth')).not.toMatch(/refresh/i)
    await api.logout()
    expect(calls.find((c) => c.url.endsWith('/auth/logout'))?.headers.Authorization).toBe(`Bearer ${at}`)
  })

  it('drops the login when the refresh token is refused', async () => {
    mockFetch({ 'POST /auth/refresh': { status: 401, body: { type: 'urn:aisle:problem:refresh-token-reused', title: 'Refresh token already used' } } })
    localStorage.setItem('aisle.auth', JSON.stringify({ sessionToken: 'st', accessToken: fakeJwt({}, -10), refreshToken: 'r1', user: { id: 1 } }))
    const api = new Api()
    await api.refresh()
    expect(api.auth.user).toBeUndefined()
    expect(api.auth.sessionToken).toBe('st')
  })

  it('turns a 429 into an ApiError with Retry-After', async () => {
    mockFetch({ 'GET /products': { status: 429, body: { type: 'urn:aisle:problem:rate-limited', title: 'Too many requests' }, headers: { 'Retry-After': '7' } } })
    const e = await new Api().search({ q: 'x' }).catch((x) => x)
    expect(e).toBeInstanceOf(ApiError)
    expect(e.retryAfter).toBe(7)
    expect(e.describe()).toMatch(/Slow down.*7 s/)
  })

  it('reads a JWT exp', () => {
    expect(jwtExp(fakeJwt({}, 100))).toBeGreaterThan(Date.now() / 1000)
    expect(jwtExp('garbage')).toBe(0)
  })
})

describe('wsUrl', () => {
  afterEach(() => document.head.querySelectorAll('meta[name="aisle-ws-port"]').forEach((m) => m.remove()))

  it('is /ws on the page host by default', () => {
    expect(wsUrl('t k')).toBe(`ws://${location.host}/ws?token=t%20k`)
  })

  it('uses the event-loop port the server names in a meta tag', () => {
    const m = document.createElement('meta')
    m.name = 'aisle-ws-port'
    m.content = '9123'
    document.head.appendChild(m)
    expect(wsUrl('t')).toBe(`ws://${location.hostname}:9123/ws?token=t`)
  })
})
