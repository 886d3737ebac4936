import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { act, render, screen, waitFor, within } from '@testing-library/react'
import userEvent from '@testing-library/user-event'
import { band, fallbacks, priceRules, problemSummary, ruleErrors, slowStages, stageStats, turnProblems, turnRuleErrors, type Turn } from './metrics'
import { layout } from './PipelineGraph'
import { InspectorPage, merge } from './InspectorPage'
import { StageList } from './StageList'
import { AppProvider } from '../state'
import { FakeWebSocket, fakeJwt, mockFetch } from '../test/fakes'

const turn = (id: string, at: number, us: Record<string, number>, extra: Partial<Turn> = {}): Turn => ({
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
  it('lists fallbacks: LLM fallbacks, skipped rules, failed vetoes, failed stages, a missed deadline', () => {
    const t = turn('x', 1, { nlu: 1, product: 5 }, {
      fallbacks: [{ stage: 'nlu', kind: 'llm', reason: 'timeout' }, { stage: 'reply', kind: 'llm', reason: 'HTTP 500' }],
      ruleErrors: [
        { id: 'broken-price', file: 'scripts/promotions.lua', line: 38, hook: 'price', stage: 'product', message: 'attempt to index a nil value' },
        { id: 'max-2', file: 'scripts/cart_limits.lua', line: 9, hook: 'on:cart.add', stage: 'act', message: 'boom', denied: true },
      ],
      timedOut: true,
    })
    t.stages![1].result = 'error'
    t.stages![1].note = 'store down'
    const fb = fallbacks(t)
    expect(fb.map((f) => f.text)).toEqual([
      'nlu: LLM fallback (timeout)',
      'reply: LLM fallback (HTTP 500)',
      'product: skipped rule broken-price (scripts/promotions.lua:38)',
      'act: veto max-2 failed (scripts/cart_limits.lua:9), so its action was denied',
      'product: error (store down)',
      'the turn ran past its deadline',
    ])
    expect(fb.map((f) => f.kind)).toEqual(['llm', 'llm', 'rule', 'veto', 'stage', 'timeout'])
    // from the full context when the summary has none; the intent's own
    // fallback when nothing else says so
    expect(fallbacks(turn('y', 1, {}), { fallbacks: [{ stage: 'reply', reason: 'llm timeout' }] }).map((f) => f.text)).toEqual(['reply: LLM fallback (llm timeout)'])
    const old = turn('z', 1, {}, { intent: { name: 'x', confidence: 1, fallback: 'breaker open' }, stages: [{ stage: 'nlu', type: 'classifier', us: 1, result: 'ok' }] })
    expect(fallbacks(old).map((f) => f.text)).toEqual(['nlu: LLM fallback (breaker open)'])
    expect(fallbacks(turn('n', 1, { nlu: 1 }))).toEqual([])
  })
  it('finds slow stages (100 ms and more)', () => {
    expect(slowStages(turn('s', 1, { nlu: 99_999, product: 100_000, reply: 250_000 }))).toEqual([{ stage: 'product', us: 100_000 }, { stage: 'reply', us: 250_000 }])
  })
  it('takes rule errors from the summary first, counts repeats once', () => {
    const e = { id: 'r1', file: 'scripts/a.lua', line: 3, stage: 'product', message: 'bad' }
    const t = turn('r', 1, {}, { ruleErrors: [e, e] })
    expect(turnRuleErrors(t, { vars: { ruleErrors: [{ id: 'other' }] } })).toEqual([
      { id: 'r1', where: 'scripts/a.lua:3', hook: undefined, stage: 'product', message: 'bad', denied: false, count: 2 },
    ])
    expect(turnRuleErrors(turn('q', 1, {}), { vars: { ruleErrors: [{ id: 'other', file: 'b.lua' }] } })[0].id).toBe('other')
  })
  it('sums rule errors, fallbacks and slow stages over the last N turns', () => {
    const bad = { id: 'broken-price', file: 'scripts/promotions.lua', line: 38, stage: 'product', message: 'nil' }
    const turns = [
      turn('a', 4, { nlu: 10, product: 150_000 }, { ruleErrors: [bad] }),
      turn('b', 3, { nlu: 10, product: 20 }, { ruleErrors: [bad], fallbacks: [{ stage: 'reply', kind: 'llm', reason: 'timeout' }] }),
      turn('c', 2, { nlu: 10 }),
      turn('d', 1, { nlu: 300_000 }, { ruleErrors: [{ ...bad, id: 'old' }] }),
    ]
    const sum = problemSummary(turns.map((t) => turnProblems(t)), 3)
    expect(sum.turns).toBe(3)
    expect(sum.ruleErrors).toMatchObject({ count: 2, turns: 2 })
    expect(sum.ruleErrors.byRule).toEqual([expect.objectContaining({ id: 'broken-price', where: 'scripts/promotions.lua:38', turns: 2 })])
    expect(sum.fallbacks).toMatchObject({ count: 3, turns: 2 })
    expect(sum.fallbacks.byGroup).toEqual([
      { group: 'skipped rule broken-price', kind: 'rule', count: 2 },
      { group: 'reply: LLM fallback', kind: 'llm', count: 1 },
    ])
    expect(sum.slow).toMatchObject({ count: 1, turns: 1, byStage: [{ stage: 'product', count: 1, maxUs: 150_000 }] })
    expect(sum.perStage.get('product')).toEqual({ ruleErrors: 2, fallbacks: 2, slow: 1 })
    expect(sum.perStage.get('reply')).toEqual({ ruleErrors: 0, fallbacks: 1, slow: 0 })
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
      { id: 'cart_limits.lua:on:cart.add', where: 'scripts/cart_limits.lua:9', hook: 'on:cart.add', stage: undefined, message: "attempt to index a nil value (field 'x')", denied: true, count: 1 },
      { id: 'boost1', where: 'scripts/ranking.lua', hook: undefined, stage: undefined, message: 'ranking.lua: instruction budget exceeded', denied: false, count: 1 },
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
  it('outlines the stages where rules failed or fallbacks were taken', () => {
    const { nodes } = layout(graph, new Map(), undefined, new Map([['product', { ruleErrors: 2, fallbacks: 1, slow: 0 }]]))
    const product = nodes.find((n) => n.id === 'product')!
    expect(String(product.style!.border)).toContain('#be123c')
    expect(product.ariaLabel).toContain('2 rule errors, 1 fallback')
    expect(String(nodes.find((n) => n.id === 'nlu')!.style!.border)).not.toContain('#be123c')
  })
})

describe('stage list (the graph on a narrow screen)', () => {
  it('lists the stages in pipeline order with latency, where they go next, and their problems', () => {
    const stats = stageStats([turn('a', 1, { nlu: 50, route: 20, product: 20000 })], 10)
    render(<StageList info={{ graph, diagnostics: [], reloads: [] }} stats={stats} lastRoute={new Set(['nlu', 'route', 'product'])}
      problems={new Map([['product', { ruleErrors: 1, fallbacks: 1, slow: 0 }]])} />)
    const items = within(screen.getByTestId('stage-list')).getAllByRole('listitem')
    expect(items.map((li) => li.dataset.testid)).toEqual(['stage-item-nlu', 'stage-item-route', 'stage-item-product', 'stage-item-reply'])
    expect(items[0]).toHaveTextContent('nlu classifier')
    expect(items[0]).toHaveTextContent('then route')
    expect(items[1]).toHaveTextContent('then reply; routes to product')
    expect(items[2].dataset.band).toBe('10–100 ms')
    expect(within(items[2]).getByTestId('stage-problems')).toHaveTextContent('1 rule error1 fallback')
    expect(items[3]).toHaveTextContent('not run yet')
    expect(within(items[3]).queryByTestId('stage-problems')).toBeNull()
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
    expect(screen.getByText('rejected (1 error)')).toBeInTheDocument()
    expect(screen.getByRole('heading', { name: /^Lint/ })).toHaveTextContent('Lint (1 error, 0 warnings)')
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

  it('says when a turn of the feed kept no context, and does not ask for it', async () => {
    const calls = mockFetch({
      'POST /auth/anonymous': { sessionId: 's1', sessionToken: fakeJwt() },
      'GET /pipelines': { graph, name: 'commerce', version: 3, diagnostics: [], reloads: [], watching: true },
      'GET /traces': { items: [] },
    })
    render(<AppProvider connect={false}><InspectorPage /></AppProvider>)
    await waitFor(() => expect(FakeWebSocket.instances.length).toBeGreaterThan(0))
    const ws = FakeWebSocket.last()
    act(() => ws.hello())
    act(() => ws.receive({ type: 'trace', trace: { ...turn('t5', 5000, { nlu: 50, product: 700 }, { text: 'busy hour' }), kept: false } }))
    const row = screen.getAllByTestId('turn-row')[0]
    await userEvent.click(within(row).getByRole('button', { name: 'busy hour' }))
    expect(screen.getByText(/Context not kept/)).toBeInTheDocument()
    expect(calls.some((c) => c.url.includes('/traces/t5'))).toBe(false)
  })

  const failing = (id: string, at: number) => turn(id, at, { nlu: 50, product: 900, reply: 120_000 }, {
    text: 'show me shoes',
    ruleErrors: [{ id: 'broken-rule', file: 'scripts/promotions.lua', line: 38, hook: 'price', stage: 'product', message: "attempt to index a nil value (field 'nothing')" }],
  })

  it('shows a skipped rule as a fallback and a rule error with file:line from the summary, and sums them up', async () => {
    render(<AppProvider connect={false}><InspectorPage /></AppProvider>)
    expect(await screen.findByText('msg t1')).toBeInTheDocument()
    await waitFor(() => expect(FakeWebSocket.instances.length).toBeGreaterThan(0))
    const ws = FakeWebSocket.last()
    act(() => ws.hello())
    act(() => ws.receive({ type: 'trace', trace: failing('t9', 9000) }))
    const row = screen.getAllByTestId('turn-row')[0]
    expect(within(row).getByTestId('turn-rule-errors')).toHaveTextContent('broken-rule scripts/promotions.lua:38')
    expect(within(row).getByTestId('turn-fallbacks')).toHaveTextContent('skipped rule broken-rule')
    expect(within(row).getByTestId('turn-slow')).toHaveTextContent('reply 120 ms')
    // the summary over the recent turns
    expect(screen.getByTestId('summary-rule-errors-count')).toHaveTextContent('1')
    expect(screen.getByTestId('summary-rule-errors')).toHaveTextContent('broken-rule scripts/promotions.lua:38 · 1 turn')
    expect(screen.getByTestId('summary-rule-errors')).toHaveTextContent('in 1 of 2 turns')
    expect(screen.getByTestId('summary-fallbacks')).toHaveTextContent('skipped rule broken-rule · 1×')
    expect(screen.getByTestId('summary-slow')).toHaveTextContent('reply · 1× · max 120 ms')
    // the details of the turn
    await userEvent.click(within(row).getByRole('button', { name: 'show me shoes' }))
    expect(screen.getByTestId('rule-error-list')).toHaveTextContent("broken-rule at scripts/promotions.lua:38 (price, stage product): attempt to index a nil value (field 'nothing')")
    expect(screen.getByTestId('fallback-list')).toHaveTextContent('product: skipped rule broken-rule (scripts/promotions.lua:38)')
    expect(screen.getByTestId('slow-list')).toHaveTextContent('reply took 120 ms')
    // only the turns with problems
    await userEvent.click(screen.getByTestId('only-problems'))
    expect(screen.getAllByTestId('turn-row').map((r) => r.dataset.trace)).toEqual(['t9'])
  })

  it('switches the pipeline between graph and list', async () => {
    render(<AppProvider connect={false}><InspectorPage /></AppProvider>)
    expect(await screen.findByTestId('pipeline-graph')).toBeInTheDocument()
    await userEvent.click(within(screen.getByTestId('view-toggle')).getByRole('button', { name: 'List' }))
    expect(screen.getByTestId('stage-list')).toBeInTheDocument()
    expect(screen.queryByTestId('pipeline-graph')).toBeNull()
    expect(within(screen.getByTestId('view-toggle')).getByRole('button', { name: 'List' })).toHaveAttribute('aria-pressed', 'true')
    await userEvent.click(within(screen.getByTestId('view-toggle')).getByRole('button', { name: 'Graph' }))
    expect(screen.getByTestId('pipeline-graph')).toBeInTheDocument()
  })

  it('on a narrow screen: the stage list and turn cards, no graph or wide table', async () => {
    vi.stubGlobal('matchMedia', (q: string) => ({ matches: q.includes('max-width'), media: q, addEventListener() {}, removeEventListener() {} }))
    render(<AppProvider connect={false}><InspectorPage /></AppProvider>)
    expect(await screen.findByTestId('stage-list')).toBeInTheDocument()
    expect(screen.queryByTestId('pipeline-graph')).toBeNull()
    expect(await screen.findByText('msg t1')).toBeInTheDocument()
    await waitFor(() => expect(FakeWebSocket.instances.length).toBeGreaterThan(0))
    act(() => FakeWebSocket.last().hello())
    act(() => FakeWebSocket.last().receive({ type: 'trace', trace: failing('t9', 9000) }))
    expect(screen.queryByTestId('turn-table')).toBeNull()
    const card = screen.getAllByTestId('turn-card')[0]
    expect(within(card).getByTestId('turn-rule-errors')).toHaveTextContent('broken-rule scripts/promotions.lua:38')
    await userEvent.click(within(card).getByRole('button', { name: 'show me shoes' }))
    expect(within(card).getByTestId('rule-error-list')).toHaveTextContent('scripts/promotions.lua:38')
    expect(within(screen.getByTestId('stage-item-product')).getByTestId('stage-problems')).toHaveTextContent('1 rule error')
  })
})
