import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { act, render, screen, waitFor, within } from '@testing-library/react'
import userEvent from '@testing-library/user-event'
import { band, fallbacks, priceRules, ruleErrors, stageStats } from './metrics'
import { layout } from './PipelineGraph'
import { InspectorPage, merge } from './InspectorPage'
import { AppProvider } from '../state'
import { FakeWebSocket, fakeJwt, mockFetch } from '../test/fakes'
import type { TraceSummary } from '../api/types'

const turn = (id: string, at: number, us: Record<string, number>, extra: Partial<TraceSummary> = {}): TraceSummary => ({
  id, at, text: `msg ${id}`, intent: { name: 'search_product', confidence: 0.9 }, route: 'product',
  stages: Object.entries(us).map(([stage, u]) => ({ stage, us: u, result: 'ok' })), ...extra,
})
const graph = {
  name: 'commerce', version: 3, file: 'pipelines/commerce.yaml',
  stages: [{ id: 'nlu', type: 'classifier' }, { id: 'route', type: 'router' }, { id: 'product', type: 'agent' }, { id: 'reply', type: 'formatter' }],
  edges: [{ from: 'nlu', to: 'route', kind: 'next' }, { from: 'route', to: 'reply', kind: 'next' }, { from: 'route', to: 'product', kind: 'route' },
    { from: 'product', to: 'reply', kind: 'next' }, { from: 'reply', to: 'end', kind: 'next' }],
}

describe('inspector metrics', () => {
  it('averages stage latency over the last N turns only', () => {
    const turns = [turn('a', 3, { nlu: 100 }), turn('b', 2, { nlu: 300 }), turn('c', 1, { nlu: 100000 })]
    expect(stageStats(turns, 2).get('nlu')).toMatchObject({ count: 2, avgUs: 200, maxUs: 300 })
    expect(stageStats(turns, 3).get('nlu')!.avgUs).toBeGreaterThan(30000)
  })
  it('colours by latency band', () => {
    expect(band(500).label).toBe('< 1 ms')
    expect(band(5000).label).toBe('1–10 ms')
    expect(band(250000).label).toBe('≥ 100 ms')
    expect(band(undefined).label).toBe('not run')
  })
  it('finds the rule ids that changed prices in a turn', () => {
    const ctx = {
      reply: { cards: [{ appliedRules: [{ id: 'mens-shoes-10', version: 3, reason: '10% off' }] }] },
      cart: { items: [{ appliedRules: [{ id: 'mens-shoes-10', version: 3 }] }], discounts: [{ id: 'SAVE10', amount: 5, reason: 'code' }] },
    }
    expect(priceRules(ctx).map((r) => r.id)).toEqual(['mens-shoes-10', 'SAVE10'])
  })
  it('lists fallbacks', () => {
    const t = turn('x', 1, { nlu: 1 }, { intent: { name: 'out_of_scope', confidence: 0.2, fallback: 'below threshold' } })
    expect(fallbacks(t, { fallbacks: [{ stage: 'reply', reason: 'llm timeout' }] })).toEqual(['intent: below threshold', 'reply: llm timeout'])
  })
  it('lists the rules that failed in a turn, with file:line and whether a veto denied', () => {
    const ctx = {
      vars: {
        ruleErrors: [
          { id: 'cart_limits.lua:on:cart.add', file: 'scripts/cart_limits.lua', line: 9, hook: 'on:cart.add', message: "attempt to index a nil value (field 'x')", denied: true },
          { id: 'boost1', file: 'scripts/ranking.lua', error: 'ranking.lua: instruction budget exceeded' },
        ],
      },
    }
    expect(ruleErrors(ctx)).toEqual([
      { id: 'cart_limits.lua:on:cart.add', where: 'scripts/cart_limits.lua:9', hook: 'on:cart.add', message: "attempt to index a nil value (field 'x')", denied: true },
      { id: 'boost1', where: 'scripts/ranking.lua', hook: undefined, message: 'ranking.lua: instruction budget exceeded', denied: false },
    ])
    expect(ruleErrors({})).toEqual([])
    expect(ruleErrors({ vars: { ruleErrors: 'nope' } })).toEqual([])
  })
  it('keeps turns newest first without duplicates', () => {
    const m = merge([turn('a', 1, {})], [turn('b', 2, {}), turn('a', 1, {})])
    expect(m.map((t) => t.id)).toEqual(['b', 'a'])
  })
  it('lays the graph out with dagre: every stage and the end get a place, routes are dashed', () => {
    const { nodes, edges } = layout(graph, stageStats([turn('a', 1, { nlu: 50, product: 20000 })], 10))
    expect(nodes.map((n) => n.id).sort()).toEqual(['end', 'nlu', 'product', 'reply', 'route'])
    const y = (id: string) => nodes.find((n) => n.id === id)!.position.y
    expect(y('nlu')).toBeLessThan(y('route'))
    expect(y('route')).toBeLessThan(y('reply'))
    expect(nodes.find((n) => n.id === 'product')!.style!.background).toBe('#fed7aa')
    expect(edges.find((e) => e.source === 'route' && e.target === 'product')!.style!.strokeDasharray).toBeTruthy()
  })
})

describe('inspector page', () => {
  beforeEach(() => {
    FakeWebSocket.instances = []
    history.replaceState(null, '', '/inspector')
    globalThis.ResizeObserver ??= class { observe() {} unobserve() {} disconnect() {} } as never
    vi.stubGlobal('WebSocket', FakeWebSocket)
    mockFetch({
      'POST /auth/anonymous': { sessionId: 's1', sessionToken: fakeJwt() },
      'GET /pipelines': { graph, name: 'commerce', version: 3, diagnostics: [{ severity: 'error', file: 'scripts/promotions.lua', line: 4, col: 2, message: "unexpected symbol near 'end'", where: 'scripts/promotions.lua:4:2' }],
        reloads: [{ at: 1, trigger: 'startup', ok: true, pipeline: 'commerce', version: 3, loadUs: 1500 }, { at: 2, trigger: 'watch', ok: false, errors: 1 }], watching: true },
      'GET /traces': { items: [turn('t1', 1000, { nlu: 40, product: 900 })] },
      'GET /traces/t1': { reply: { cards: [] } },
      'GET /traces/t2': { reply: { cards: [{ appliedRules: [{ id: 'fragrance-5-off', version: 3, reason: '$5 off' }] }] } },
      'GET /traces/t3': { reply: { text: "Sorry, I can't do that" }, vars: { ruleErrors: [{ id: 'max-2-motorcycles', file: 'scripts/cart_limits.lua', line: 12, hook: 'on:order.create', message: "attempt to index a nil value (field 'cart')", denied: true }] } },
    })
  })
  afterEach(() => vi.unstubAllGlobals())

  it('shows lint errors, reloads, and turns arriving live with their price rules', async () => {
    render(<AppProvider connect={false}><InspectorPage /></AppProvider>)
    expect(await screen.findByText(/unexpected symbol near 'end'/)).toBeInTheDocument()
    expect(screen.getByText('scripts/promotions.lua:4:2')).toBeInTheDocument()
    expect(screen.getByText('rejected (1 errors)')).toBeInTheDocument()
    expect(await screen.findByText('msg t1')).toBeInTheDocument()
    expect(screen.getByTestId('pipeline-name')).toHaveTextContent('commerce v3')
    await waitFor(() => expect(FakeWebSocket.instances.length).toBeGreaterThan(0))
    const ws = FakeWebSocket.last()
    act(() => ws.hello())
    expect(ws.sent).toContainEqual({ type: 'subscribe', topic: 'traces' })
    act(() => ws.receive({ type: 'trace', trace: turn('t2', 2000, { nlu: 50, product: 700 }, { text: 'perfume please' }) }))
    const rows = screen.getAllByTestId('turn-row')
    expect(rows[0]).toHaveTextContent('perfume please')
    await waitFor(() => expect(within(rows[0]).getByTestId('turn-rules')).toHaveTextContent('fragrance-5-off'))
    await userEvent.click(within(rows[0]).getByRole('button', { name: 'perfume please' }))
    expect(screen.getByText('Stages of this turn')).toBeInTheDocument()
    expect(within(rows[0]).getByTestId('turn-rule-errors')).toHaveTextContent('none')
  })

  it('shows the rules that failed in a turn, not only in the trace JSON', async () => {
    render(<AppProvider connect={false}><InspectorPage /></AppProvider>)
    expect(await screen.findByText('msg t1')).toBeInTheDocument()
    await waitFor(() => expect(FakeWebSocket.instances.length).toBeGreaterThan(0))
    const ws = FakeWebSocket.last()
    act(() => ws.hello())
    act(() => ws.receive({ type: 'trace', trace: turn('t3', 3000, { nlu: 50, cart: 700 }, { text: 'place the order' }) }))
    const row = screen.getAllByTestId('turn-row')[0]
    await waitFor(() => expect(within(row).getByTestId('turn-rule-errors')).toHaveTextContent('max-2-motorcycles (denied)'))
    await userEvent.click(within(row).getByRole('button', { name: 'place the order' }))
    const list = screen.getByTestId('rule-error-list')
    expect(list).toHaveTextContent('scripts/cart_limits.lua:12')
    expect(list).toHaveTextContent("attempt to index a nil value (field 'cart')")
    expect(list).toHaveTextContent('the veto failed, so the action was denied')
  })
})
