import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { act, render, screen, waitFor, within } from '@testing-library/react'
import userEvent from '@testing-library/user-event'
import { AppProvider } from '../state'
import { App } from '../App'
import { FakeWebSocket, asWS, emptyCart, fakeJwt, mockFetch } from '../test/fakes'
import { rowRenders } from './ChatPage'

const card = { sku: 'MEN-1', title: 'Trail Runner', brand: 'Nike', price: 109.99, finalPrice: 98.99, rating: 4.7, stock: 5,
  appliedRules: [{ id: 'mens-shoes-10', version: 3, reason: "10% off men's shoes" }] }
const cartWith = (qty: number) => ({
  id: 'anon:s1', count: qty, subtotal: 98.99 * qty, total: 98.99 * qty - (qty > 1 ? 5 : 0), discountTotal: qty > 1 ? 5 : 0,
  discounts: qty > 1 ? [{ id: 'WELCOME5', reason: 'WELCOME5: $5 off', amount: 5 }] : [],
  items: [{ sku: 'MEN-1', title: 'Trail Runner', qty, unitPrice: 98.99, lineTotal: 98.99 * qty }],
})

function renderApp() {
  return render(<AppProvider WebSocketImpl={asWS}><App /></AppProvider>)
}
async function connected() {
  await waitFor(() => expect(FakeWebSocket.instances.length).toBeGreaterThan(0))
  const ws = FakeWebSocket.last()
  act(() => ws.hello())
  return ws
}

describe('chat page', () => {
  let calls: ReturnType<typeof mockFetch>
  beforeEach(() => {
    FakeWebSocket.instances = []
    history.replaceState(null, '', '/')
    calls = mockFetch({
      'POST /auth/anonymous': { sessionId: 's1', sessionToken: fakeJwt({ typ: 'session', sid: 's1' }) },
      'GET /cart': emptyCart,
      'POST /cart/items': () => ({ body: cartWith(1) }),
      'PATCH /cart/items/MEN-1': (r) => ({ body: cartWith((r.body as { qty: number }).qty) }),
    })
  })
  afterEach(() => vi.unstubAllGlobals())

  it('sends a message, streams the reply, shows cards and suggestions, and announces the reply', async () => {
    renderApp()
    const ws = await connected()
    expect(ws.url).toMatch(/\/ws\?token=/)
    await userEvent.type(screen.getByLabelText('Message'), 'show me shoes{Enter}')
    const [sent] = ws.messages()
    expect(sent).toMatchObject({ type: 'message', text: 'show me shoes' })
    act(() => ws.receive({ type: 'delta', text: 'Here are ', clientMsgId: sent.clientMsgId }))
    act(() => ws.receive({ type: 'delta', text: 'some', clientMsgId: sent.clientMsgId }))
    expect(screen.getByTestId('msg-assistant')).toHaveTextContent('Here are some')
    expect(screen.getByTestId('live-reply')).toHaveTextContent('')
    act(() => ws.receive({ type: 'reply', clientMsgId: sent.clientMsgId, text: 'Here are some shoes.', cards: [card],
      suggestions: ['Show me cheaper ones'], cart: emptyCart, traceId: 't1' }))
    expect(screen.getByTestId('msg-assistant')).toHaveTextContent('Here are some shoes.')
    expect(screen.getByTestId('live-reply')).toHaveTextContent('Here are some shoes.')
    expect(screen.getByRole('article', { name: /Trail Runner/ })).toBeInTheDocument()
    await userEvent.click(screen.getByRole('button', { name: 'Show me cheaper ones' }))
    expect(ws.messages()[1]).toMatchObject({ text: 'Show me cheaper ones' })
  })

  it('a streamed delta re-renders only the row being written: a finished row stays at its first render', async () => {
    rowRenders.clear()
    renderApp()
    const ws = await connected()
    await userEvent.type(screen.getByLabelText('Message'), 'shoes{Enter}')
    const first = ws.messages()[0].clientMsgId
    act(() => ws.receive({ type: 'reply', clientMsgId: first, text: 'One pair.', cards: [card], suggestions: ['Cheaper'], cart: emptyCart }))
    const done = `a-${first}`
    const initial = rowRenders.get(done)
    expect(initial).toBeGreaterThan(0)
    await userEvent.type(screen.getByLabelText('Message'), 'and boots?{Enter}')
    const second = ws.messages()[1].clientMsgId
    act(() => ws.receive({ type: 'delta', text: 'Here', clientMsgId: second }))
    const asked = rowRenders.get(`u-${second}`)
    const writing = rowRenders.get(`a-${second}`)
    for (const piece of [' are', ' two', ' pairs', ' of', ' boots.'])
      act(() => ws.receive({ type: 'delta', text: piece, clientMsgId: second }))
    const rows = screen.getAllByTestId('msg-assistant')
    expect(rows[1]).toHaveTextContent('Here are two pairs of boots.')
    expect(rows[1]).toHaveAttribute('data-status', 'streaming')
    // the finished reply, the question and even the streaming row's frame
    // did not render again: only the streaming text did
    expect(rowRenders.get(done)).toBe(initial)
    expect(rowRenders.get(`u-${second}`)).toBe(asked)
    expect(rowRenders.get(`a-${second}`)).toBe(writing)
    // the whole reply replaces the pieces and takes over the suggestions
    act(() => ws.receive({ type: 'reply', clientMsgId: second, text: 'Here are two pairs of boots.', cards: [], suggestions: ['Show more'] }))
    expect(screen.getAllByTestId('msg-assistant')[1]).toHaveAttribute('data-status', 'done')
    expect(screen.getByRole('button', { name: 'Show more' })).toBeInTheDocument()
    expect(screen.queryByRole('button', { name: 'Cheaper' })).toBeNull()
    // a late delta changes nothing
    act(() => ws.receive({ type: 'delta', text: ' again', clientMsgId: second }))
    expect(screen.getAllByTestId('msg-assistant')[1]).not.toHaveTextContent('again')
  })

  it('offers to sign in from the reply\'s needsLogin flag, not from the words of the text', async () => {
    renderApp()
    const ws = await connected()
    await userEvent.type(screen.getByLabelText('Message'), 'how do I log in{Enter}')
    act(() => ws.receive({ type: 'reply', clientMsgId: ws.messages()[0].clientMsgId,
      text: 'Use Sign in at the top of the page to log in.', needsLogin: false, uiActions: [] }))
    expect(screen.queryByTestId('login-offer')).toBeNull()
    await userEvent.type(screen.getByLabelText('Message'), 'pay now{Enter}')
    act(() => ws.receive({ type: 'reply', clientMsgId: ws.messages()[1].clientMsgId,
      text: 'Your cart is kept for you.', needsLogin: true, uiActions: [{ type: 'sign_in', label: 'Sign in' }] }))
    const offer = screen.getByTestId('login-offer')
    await userEvent.click(within(offer).getByRole('button', { name: 'Sign in' }))
    expect(screen.getByRole('dialog')).toBeInTheDocument()
  })

  it('adds a product from a card through the REST cart, and the cart drawer follows cart events', async () => {
    renderApp()
    const ws = await connected()
    await userEvent.type(screen.getByLabelText('Message'), 'shoes{Enter}')
    act(() => ws.receive({ type: 'reply', clientMsgId: ws.messages()[0].clientMsgId, text: 'One.', cards: [card] }))
    await userEvent.click(screen.getByRole('button', { name: 'Add to cart: Trail Runner' }))
    expect(calls.find((c) => c.method === 'POST' && c.url.endsWith('/cart/items'))?.body).toEqual({ sku: 'MEN-1', qty: 1 })
    await waitFor(() => expect(screen.getByTestId('cart-count')).toHaveTextContent('1'))
    await userEvent.click(screen.getByTestId('cart-button'))
    const drawer = screen.getByRole('dialog', { name: 'Your cart' })
    expect(within(drawer).getByText('Trail Runner')).toBeInTheDocument()
    // another tab (or the chat) changed the cart: the server says so
    act(() => ws.receive({ type: 'cart', cart: cartWith(2) }))
    expect(within(drawer).getByLabelText('Quantity of Trail Runner', { selector: 'input' })).toHaveValue(2)
    expect(within(drawer).getByText(/WELCOME5: \$5 off/)).toBeInTheDocument()
    expect(within(drawer).getByTestId('cart-total')).toHaveTextContent('$192.98')
    // edit the quantity
    await userEvent.click(within(drawer).getByRole('button', { name: 'One more Trail Runner' }))
    expect(calls.at(-1)).toMatchObject({ method: 'PATCH', body: { qty: 3 } })
    await waitFor(() => expect(screen.getByTestId('cart-count')).toHaveTextContent('3'))
    await userEvent.keyboard('{Escape}')
    expect(screen.queryByRole('dialog')).toBeNull()
  })

  it('says when the connection drops, queues what is written meanwhile and sends it once when back', async () => {
    renderApp()
    const ws = await connected()
    vi.useFakeTimers({ shouldAdvanceTime: true })
    try {
      act(() => ws.drop())
      await act(async () => { await vi.advanceTimersByTimeAsync(1600) })
      expect(await screen.findByTestId('connection-banner')).toHaveTextContent(/Connection lost|Connecting/)
      await userEvent.type(screen.getByLabelText('Message'), 'still there?{Enter}')
      const next = FakeWebSocket.last()
      expect(next.messages()).toEqual([])
      expect(screen.getByText(/will be sent automatically/)).toBeInTheDocument()
      await act(async () => { await vi.advanceTimersByTimeAsync(20000) })
      const ws2 = FakeWebSocket.last()
      act(() => ws2.hello())
      const sent = ws2.messages()
      expect(sent).toHaveLength(1)
      expect(sent[0].text).toBe('still there?')
      act(() => ws2.receive({ type: 'reply', clientMsgId: sent[0].clientMsgId, text: 'Yes!' }))
      expect(screen.queryByTestId('connection-banner')).toBeNull()
      expect(screen.getByTestId('msg-assistant')).toHaveTextContent('Yes!')
      expect(screen.queryByText(/will be sent automatically/)).toBeNull()
    } finally {
      vi.useRealTimers()
    }
  })

  it('tells the shopper to slow down on a 429', async () => {
    renderApp()
    const ws = await connected()
    await userEvent.type(screen.getByLabelText('Message'), 'hi{Enter}')
    act(() => ws.receive({ type: 'error', status: 429, code: 'rate-limited', clientMsgId: ws.messages()[0].clientMsgId, retryAfter: 3 }))
    expect(screen.getByTestId('notice-rate')).toHaveTextContent(/Slow down.*3 s/)
  })

  it('keeps the conversation across a reload and resends a message that had no answer', async () => {
    const first = renderApp()
    const ws = await connected()
    await userEvent.type(screen.getByLabelText('Message'), 'one{Enter}')
    act(() => ws.receive({ type: 'reply', clientMsgId: ws.messages()[0].clientMsgId, text: 'Answer one' }))
    await userEvent.type(screen.getByLabelText('Message'), 'two{Enter}')
    const two = ws.messages()[1].clientMsgId
    first.unmount()
    FakeWebSocket.instances = []
    renderApp()
    expect(screen.getByTestId('msg-assistant')).toHaveTextContent('Answer one')
    expect(screen.getByText('two')).toBeInTheDocument()
    const ws2 = await connected()
    expect(ws2.messages()).toEqual([{ type: 'message', text: 'two', clientMsgId: two }])
    // the session token was kept: no second anonymous session
    expect(calls.filter((c) => c.url.endsWith('/auth/anonymous'))).toHaveLength(1)
  })
})
