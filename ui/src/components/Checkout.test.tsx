import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { render, screen, waitFor, within } from '@testing-library/react'
import userEvent from '@testing-library/user-event'
import { AppProvider } from '../state'
import { App } from '../App'
import { fakeJwt, mockFetch } from '../test/fakes'
import { countryName, localityLine } from './OrderSummary'

const cart = { id: 'anon:s1', count: 1, subtotal: 98.99, total: 98.99, discounts: [],
  items: [{ sku: 'MEN-1', title: 'Trail Runner', qty: 1, unitPrice: 98.99, lineTotal: 98.99 }] }
const placed = { id: 42, status: 'placed', total: 108.89, createdAt: 1795536177000, lines: cart.items, subtotal: 98.99, discounts: [],
  delivery: { id: 'express', name: 'Express delivery', days: '1-2 business days', price: 9.9, basePrice: 9.9 },
  address: { name: 'Ann Example', line1: '1 Main St', city: 'Springfield', postalCode: '62701', country: 'US' },
  payment: { provider: 'test', brand: 'visa', last4: '4242', reference: 'test_ch_1', amount: 108.89, status: 'paid' } }
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
      'GET /me/address': { status: 404, body: { type: 'urn:aisle:problem:not-found', title: 'No saved address' } },
      'GET /me/payment-method': { status: 404, body: { type: 'urn:aisle:problem:not-found', title: 'No saved card' } },
      'GET /cart/delivery-options': { currency: 'USD', items: [
        { id: 'standard', name: 'Standard delivery', days: '3-5 business days', price: 0, basePrice: 4.9, freeOver: 50 },
        { id: 'express', name: 'Express delivery', days: '1-2 business days', price: 9.9, basePrice: 9.9 }] },
      'POST /orders': () => {
        // the first answer is lost on the way (a 503), the second card is
        // declined (402); each retry must reuse the key
        if (++orderTries === 1) return { status: 503, body: { type: 'urn:aisle:problem:store-unavailable', title: 'Store unavailable' }, headers: { 'Retry-After': '1' } }
        if (orderTries === 2) return { status: 402, body: { type: 'urn:aisle:problem:payment-declined', title: 'Payment declined', field: 'payment', detail: 'payment declined: the card was declined. Nothing was charged or ordered; please try another card' } }
        return { status: 201, body: placed }
      },
      'GET /orders': { items: [placed] },
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
    expect(reg.body).toEqual({ email: 'ann@example.com', password: 'short-but-longer', name: 'Ann', refreshCookie: true })
    expect(reg.headers.Authorization).toMatch(/^Bearer /)
    // the checkout: address, delivery, card, summary
    const co = await screen.findByRole('dialog', { name: 'Checkout' })
    expect(within(co).getByText('Trail Runner')).toBeInTheDocument()
    expect(calls.some((c) => c.url.endsWith('/orders') && c.method === 'POST')).toBe(false)
    await userEvent.type(within(co).getByLabelText('Full name'), 'Ann Example')
    await userEvent.type(within(co).getByLabelText('Address'), '1 Main St')
    await userEvent.type(within(co).getByLabelText('City'), 'Springfield')
    await userEvent.type(within(co).getByLabelText('Postal code'), '62701')
    await userEvent.click(await within(co).findByRole('radio', { name: /Express delivery/ }))
    expect(within(co).getByTestId('summary-delivery')).toHaveTextContent('$9.90')
    expect(within(co).getByTestId('summary-total')).toHaveTextContent('$108.89')
    await userEvent.type(within(co).getByLabelText('Card number'), '4000 0000 0000 0002')
    await userEvent.type(within(co).getByLabelText('Expiry (MM/YY)'), '12/34')
    await userEvent.type(within(co).getByLabelText('CVC'), '123')
    await userEvent.click(within(co).getByRole('button', { name: /Pay and place order/ }))
    expect(await within(co).findByRole('alert')).toHaveTextContent('Store unavailable')
    await userEvent.click(within(co).getByRole('button', { name: /Pay and place order/ }))
    await waitFor(() => expect(within(co).getByRole('alert')).toHaveTextContent('declined'))
    await userEvent.clear(within(co).getByLabelText('Card number'))
    await userEvent.type(within(co).getByLabelText('Card number'), '4242 4242 4242 4242')
    await userEvent.click(within(co).getByRole('button', { name: /Pay and place order/ }))
    const done = await screen.findByRole('dialog', { name: 'Order placed' })
    expect(done).toHaveTextContent('#42')
    expect(within(done).getByTestId('summary-total')).toHaveTextContent('$108.89')
    expect(within(done).getByTestId('summary-payment')).toHaveTextContent('Visa ending in 4242')
    const posts = calls.filter((c) => c.method === 'POST' && c.url.endsWith('/orders'))
    expect(posts).toHaveLength(3)
    expect(posts[0].headers['Idempotency-Key']).toBeTruthy()
    expect(posts[1].headers['Idempotency-Key']).toBe(posts[0].headers['Idempotency-Key'])
    expect(posts[2].headers['Idempotency-Key']).toBe(posts[0].headers['Idempotency-Key'])
    expect(posts[2].headers.Authorization).toBe(`Bearer ${tokens.accessToken}`)
    expect(posts[2].body).toEqual({
      address: { name: 'Ann Example', line1: '1 Main St', city: 'Springfield', postalCode: '62701', country: 'US' },
      saveAddress: true, deliveryOption: 'express',
      payment: { cardNumber: '4242 4242 4242 4242', expiry: '12/34', cvc: '123' }, savePayment: false,
    })
    // order history
    await userEvent.click(screen.getByRole('link', { name: 'See order status' }))
    await userEvent.click(screen.getByRole('link', { name: 'Orders' }))
    expect(await screen.findByRole('link', { name: 'Order #42' })).toBeInTheDocument()
    expect(screen.getAllByTestId('order-status')[0]).toHaveTextContent('placed')
  }, 30000)

  it("offers the delivery options the shop has for the address's country, and says when it has none", async () => {
    const intl = { id: 'international', name: 'International delivery', days: '7-14 business days', price: 19.9, basePrice: 19.9, freeOver: 150, countries: ['DE'] }
    const express = { id: 'express', name: 'Express delivery', days: '1-2 business days', price: 9.9, basePrice: 9.9, countries: ['US'] }
    calls = mockFetch({
      'POST /auth/anonymous': { sessionId: 's1', sessionToken: fakeJwt({ typ: 'session' }) },
      'GET /cart': cart,
      'POST /auth/register': () => ({ status: 201, body: tokens }),
      'GET /me/address': { status: 404, body: { type: 'urn:aisle:problem:not-found', title: 'No saved address' } },
      'GET /me/payment-method': { status: 404, body: { type: 'urn:aisle:problem:not-found', title: 'No saved card' } },
      // the shop decides which options go where: ?country=DE, ?country=NL
      'GET /cart/delivery-options': (req) => {
        const cc = new URL(req.url, 'http://x').searchParams.get('country')
        if (cc === 'DE') return { body: { currency: 'USD', country: 'DE', items: [intl], chosen: intl } }
        if (cc === 'NL') return { body: { currency: 'USD', country: 'NL', items: [], refused: { field: 'address.country', reason: "we can't deliver to the Netherlands yet (we deliver to the United States and Germany)" } } }
        return { body: { currency: 'USD', items: [express] } }
      },
    })
    render(<AppProvider connect={false}><App /></AppProvider>)
    await waitFor(() => expect(screen.getByTestId('cart-count')).toHaveTextContent('1'))
    await userEvent.click(screen.getByTestId('cart-button'))
    await userEvent.click(screen.getByRole('button', { name: 'Sign in to check out' }))
    await userEvent.click(within(screen.getByRole('dialog', { name: 'Sign in' })).getByRole('button', { name: 'Create an account' }))
    const dlg = screen.getByRole('dialog', { name: 'Create an account' })
    await userEvent.type(within(dlg).getByLabelText('Name'), 'Ann')
    await userEvent.type(within(dlg).getByLabelText('E-mail'), 'ann@example.com')
    await userEvent.type(within(dlg).getByLabelText('Password'), 'long-enough-password')
    await userEvent.click(within(dlg).getByRole('button', { name: 'Create account' }))
    const co = await screen.findByRole('dialog', { name: 'Checkout' })
    expect(await within(co).findByRole('radio', { name: /Express delivery/ })).toBeInTheDocument()
    expect(calls.some((c) => c.url.includes('/cart/delivery-options?country=US'))).toBe(true)
    await userEvent.selectOptions(within(co).getByLabelText('Country'), 'DE')
    expect(await within(co).findByRole('radio', { name: /International delivery/ })).toBeChecked()
    expect(within(co).queryByRole('radio', { name: /Express delivery/ })).toBeNull()
    expect(within(co).getByTestId('summary-delivery')).toHaveTextContent('$19.90')
    await userEvent.selectOptions(within(co).getByLabelText('Country'), 'NL')
    expect(await within(co).findByTestId('checkout-delivery-refused')).toHaveTextContent("we can't deliver to the Netherlands yet")
    expect(within(co).queryByRole('radio')).toBeNull()
  }, 30000)
})

describe('the address as its country writes it', () => {
  it('puts the city line in the order of the US, the UK and the continent, with the country named', () => {
    expect(localityLine({ city: 'Springfield', region: 'IL', postalCode: '62701', country: 'US' })).toBe('Springfield, IL 62701')
    expect(localityLine({ city: 'Toronto', region: 'ON', postalCode: 'M5V 2T6', country: 'CA' })).toBe('Toronto, ON M5V 2T6')
    expect(localityLine({ city: 'Leeds', region: '', postalCode: 'LS1 4AP', country: 'GB' })).toBe('Leeds LS1 4AP')
    expect(localityLine({ city: 'Berlin', postalCode: '10115', country: 'DE' })).toBe('10115 Berlin')
    expect(countryName('US')).toBe('United States')
    expect(countryName('PT')).toBe('PT')
  })
})
