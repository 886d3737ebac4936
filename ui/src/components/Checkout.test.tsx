import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { render, screen, waitFor, within } from '@testing-library/react'
import userEvent from '@testing-library/user-event'
import { AppProvider } from '../state'
import { App } from '../App'
import { fakeJwt, mockFetch } from '../test/fakes'

const cart = { id: 'anon:s1', count: 1, subtotal: 98.99, total: 98.99, discounts: [],
  items: [{ sku: 'MEN-1', title: 'Trail Runner', qty: 1, unitPrice: 98.99, lineTotal: 98.99 }] }
const user = { id: 7, email: 'ann@example.com', name: 'Ann', role: 'user' }
const tokens = { accessToken: fakeJwt({ typ: 'access', sub: '7' }), refreshToken: 'r1', expiresIn: 900, sessionId: 's1', user }

describe('sign-up and checkout', () => {
  let calls: ReturnType<typeof mockFetch>
  let orderTries = 0
  beforeEach(() => {
    history.replaceState(null, '', '/')
    orderTries = 0
    calls = mockFetch({
      'POST /auth/anonymous': { sessionId: 's1', sessionToken: fakeJwt({ typ: 'session' }) },
      'GET /cart': () => ({ body: orderTries > 1 ? { ...cart, items: [], count: 0, subtotal: 0, total: 0 } : cart }),
      'POST /auth/register': () => ({ status: 201, body: tokens }),
      'POST /orders': () => {
        // the first answer is lost on the way (a 503); the retry must reuse the key
        if (++orderTries === 1) return { status: 503, body: { type: 'urn:aisle:problem:store-unavailable', title: 'Store unavailable' }, headers: { 'Retry-After': '1' } }
        return { status: 201, body: { id: 42, status: 'placed', total: 98.99, createdAt: 1795536177000, lines: cart.items } }
      },
      'GET /orders': { items: [{ id: 42, status: 'placed', total: 98.99, createdAt: 1795536177000, lines: cart.items }] },
    })
  })
  afterEach(() => vi.unstubAllGlobals())

  it('asks to sign in before checkout, signs up, confirms, and places the order once', async () => {
    render(<AppProvider connect={false}><App /></AppProvider>)
    await waitFor(() => expect(screen.getByTestId('cart-count')).toHaveTextContent('1'))
    await userEvent.click(screen.getByTestId('cart-button'))
    await userEvent.click(screen.getByRole('button', { name: 'Sign in to check out' }))
    const signin = screen.getByRole('dialog', { name: 'Sign in' })
    await userEvent.click(within(signin).getByRole('button', { name: 'Create an account' }))
    const dlg = screen.getByRole('dialog', { name: 'Create an account' })
    await userEvent.type(within(dlg).getByLabelText('Name'), 'Ann')
    await userEvent.type(within(dlg).getByLabelText('E-mail'), 'ann@example.com')
    await userEvent.type(within(dlg).getByLabelText('Password'), 'short')
    await userEvent.click(within(dlg).getByRole('button', { name: 'Create account' }))
    expect(within(dlg).getByRole('alert')).toHaveTextContent('at least 8 characters')
    await userEvent.type(within(dlg).getByLabelText('Password'), '-but-longer')
    await userEvent.click(within(dlg).getByRole('button', { name: 'Create account' }))
    // registered with the anonymous session's token, so the cart comes along
    const reg = calls.find((c) => c.url.endsWith('/auth/register'))!
    expect(reg.body).toEqual({ email: 'ann@example.com', password: 'short-but-longer', name: 'Ann' })
    expect(reg.headers.Authorization).toMatch(/^Bearer /)
    // confirmation step
    const co = await screen.findByRole('dialog', { name: 'Confirm your order' })
    expect(within(co).getByText('Trail Runner')).toBeInTheDocument()
    expect(calls.some((c) => c.url.endsWith('/orders') && c.method === 'POST')).toBe(false)
    await userEvent.click(within(co).getByRole('button', { name: /Place order/ }))
    expect(await within(co).findByRole('alert')).toHaveTextContent('Store unavailable')
    await userEvent.click(within(co).getByRole('button', { name: /Place order/ }))
    expect(await screen.findByRole('dialog', { name: 'Order placed' })).toHaveTextContent('#42')
    const posts = calls.filter((c) => c.method === 'POST' && c.url.endsWith('/orders'))
    expect(posts).toHaveLength(2)
    expect(posts[0].headers['Idempotency-Key']).toBeTruthy()
    expect(posts[1].headers['Idempotency-Key']).toBe(posts[0].headers['Idempotency-Key'])
    expect(posts[1].headers.Authorization).toBe(`Bearer ${tokens.accessToken}`)
    // order history
    await userEvent.click(screen.getByRole('link', { name: 'See order status' }))
    await userEvent.click(screen.getByRole('link', { name: 'Orders' }))
    expect(await screen.findByRole('link', { name: 'Order #42' })).toBeInTheDocument()
    expect(screen.getAllByTestId('order-status')[0]).toHaveTextContent('placed')
  })
})
