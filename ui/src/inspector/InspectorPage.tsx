// The inspector for product teams: the loaded pipeline as a graph (or,
// on narrow screens, a list) coloured by stage latency over the last N
// turns, what went wrong in those turns (rule errors with rule id and
// file:line, fallbacks, slow stages), a live list of turns (from the
// traces feed on /ws), the current lint errors and the reload history,
// and the rule ids that changed prices in a turn.
import { useCallback, useEffect, useMemo, useRef, useState } from 'react'
import { ApiError, wsUrl } from '../api/client'
import type { PipelineInfo } from '../api/types'
import { ChatSocket, type SocketStatus } from '../chat/socket'
import { useNarrow } from '../media'
import { useTitle } from '../router'
import { useApp } from '../state'
import { plural } from '../words'
import { BANDS, IDLE, hasProblems, ms, priceRules, problemSummary, stageStats, turnProblems, type Turn } from './metrics'
import { PipelineGraph } from './PipelineGraph'
import { ProblemSummaryPanel } from './Problems'
import { StageList } from './StageList'
import { TURN_COLUMNS, TurnCard, TurnRow, type TurnExtra } from './Turns'

const NOT_KEPT = 'Context not kept: this turn came while more than turns.traces_rate turns a second did, ' +
  'when only failed turns keep theirs (set turns.traces_rate: 0 to keep every turn). Its summary is all there is.'

const KEEP = 200
const when = (t: number) => new Date(t).toLocaleTimeString()

function Legend() {
  return (
    <ul className="flex flex-wrap gap-3 text-xs" aria-label="Latency colours">
      {[...BANDS, IDLE].map((b) => (
        <li key={b.label} className="flex items-center gap-1">
          <span aria-hidden="true" className="inline-block h-3 w-3 rounded-sm ring-1 ring-slate-300" style={{ background: b.fill }} />{b.label}
        </li>
      ))}
    </ul>
  )
}

type View = 'auto' | 'graph' | 'list'

function ViewToggle({ shown, onPick }: { shown: 'graph' | 'list'; onPick: (v: View) => void }) {
  const btn = (v: 'graph' | 'list', label: string) => (
    <button type="button" aria-pressed={shown === v} onClick={() => onPick(v)}
      className={`px-3 py-1 text-sm ${shown === v ? 'bg-brand-700 font-medium text-white' : 'bg-white text-slate-700 hover:bg-slate-100'}`}>
      {label}
    </button>
  )
  return (
    <div role="group" aria-label="Show the pipeline as" className="inline-flex overflow-hidden rounded-md border border-slate-300" data-testid="view-toggle">
      {btn('graph', 'Graph')}{btn('list', 'List')}
    </div>
  )
}

export function InspectorPage() {
  useTitle('Inspector')
  const { api, auth, open } = useApp()
  const [info, setInfo] = useState<PipelineInfo | null>(null)
  const [error, setError] = useState('')
  const [denied, setDenied] = useState(false)
  const [turns, setTurns] = useState<Turn[]>([])
  const [extras, setExtras] = useState<Record<string, TurnExtra>>({})
  const [lastN, setLastN] = useState(20)
  const [openId, setOpenId] = useState<string | null>(null)
  const [feed, setFeed] = useState<SocketStatus>('connecting')
  const queue = useRef<string[]>([])
    const infoVersion = useRef<number | undefined>(undefined)
  infoVersion.current = info?.version ?? info?.graph?.version
  const busy = useRef(false)

  const fail = useCallback((e: unknown) => {
    // outside --dev the inspector's endpoints need an admin account
    if (e instanceof ApiError && (e.status === 401 || e.status === 403)) {
      setDenied(true)
      setError(e.status === 403 ? 'This account is not an admin: the inspector needs the admin role (auth.admin_emails).'
        : 'The inspector needs an admin account on this server. Sign in as an admin.')
    } else setError(e instanceof ApiError ? e.describe() : String(e))
  }, [])
  const loadInfo = useCallback(() => {
    api.pipelines().then((p) => (setInfo(p), setError(''), setDenied(false))).catch(fail)
  }, [api, fail])

  // full contexts are fetched one at a time (they count against rate limits)
  const pump = useCallback(async () => {
    if (busy.current) return
    busy.current = true
    while (queue.current.length) {
      const id = queue.current.shift()!
      try {
        const ctx = await api.trace(id)
        setExtras((x) => ({ ...x, [id]: { rules: priceRules(ctx), ctx } }))
      } catch (e) {
        setExtras((x) => ({ ...x, [id]: { ...x[id], rules: x[id]?.rules ?? [], error: e instanceof ApiError ? e.describe() : String(e) } }))
        if (e instanceof ApiError && e.status === 429) await new Promise((r) => setTimeout(r, (e.retryAfter ?? 1) * 1000))
      }
    }
    busy.current = false
  }, [api])
  const want = useCallback((ids: string[]) => {
    for (const id of ids) if (!queue.current.includes(id)) queue.current.push(id)
    pump()
  }, [pump])

  useEffect(() => {
    loadInfo()
    api.traces(50).then((r) => {
      setTurns((t) => merge(t, r.items))
      want(r.items.slice(0, 10).map((t) => t.id))
    }).catch(fail)
  }, [api, loadInfo, want, fail, auth.user?.id])

  useEffect(() => {
    const s = new ChatSocket({
      getToken: () => api.ensureToken(),
      url: wsUrl,
      onOpenFrames: () => [{ type: 'subscribe', topic: 'traces' }],
      onStatus: (st) => setFeed(st),
      onAuthRefused: async () => {
        if (api.auth.accessToken) await api.refresh().catch(() => {})
        else await api.startSession().catch(() => {})
      },
      onFrame: (f) => {
        if (f.type === 'trace' && f.trace) {
          setTurns((t) => merge(t, [f.trace]))
          // a turn over turns.traces_rate: the server kept only this summary
          if (f.trace.kept === false) {
            const id = f.trace.id
            setExtras((x) => ({ ...x, [id]: { rules: [], error: NOT_KEPT } }))
          } else want([f.trace.id])
          // a reload shows up in the next turn's pipeline version
          if (f.trace.pipeline && f.trace.pipeline.version !== infoVersion.current) loadInfo()
        } else if (f.type === 'error' && f.status === 403) setError('The traces feed needs an admin account (or a server in --dev mode).')
      },
    })
    s.start()
    const poll = setInterval(loadInfo, 10000)
    return () => {
      s.stop()
      clearInterval(poll)
    }
  }, [api, want, loadInfo, auth.user?.id])
  const narrow = useNarrow()
  const [view, setView] = useState<View>('auto')
  const shown = view === 'auto' ? (narrow ? 'list' : 'graph') : view
  const [onlyProblems, setOnlyProblems] = useState(false)
  const stats = useMemo(() => stageStats(turns, lastN), [turns, lastN])
  const problems = useMemo(() => turns.map((t) => turnProblems(t, extras[t.id]?.ctx)), [turns, extras])
  const summary = useMemo(() => problemSummary(problems, lastN), [problems, lastN])
  const listed = turns.map((t, i) => ({ t, p: problems[i] })).filter((x) => !onlyProblems || hasProblems(x.p))
  const toggle = (id: string) => {
    setOpenId(openId === id ? null : id)
    if (!extras[id]) want([id])
  }
  const lastRoute = useMemo(() => new Set((turns[0]?.stages ?? []).map((s) => s.stage)), [turns])
  const diags = info?.diagnostics ?? []
  const reloads = [...(info?.reloads ?? [])].reverse()

  return (
    <div className="px-3 py-4">
      <div className="mb-3 flex flex-wrap items-center gap-3">
        <h1 className="text-2xl font-semibold">Pipeline inspector</h1>
        {info?.graph && <span className="rounded bg-slate-200 px-2 py-0.5 text-sm" data-testid="pipeline-name">{info.graph.name} v{info.graph.version}</span>}
        {info?.file && <code className="text-xs text-slate-600">{info.file}</code>}
        <span role="status" className={`ml-auto rounded-full px-2 py-0.5 text-xs ${feed === 'open' ? 'bg-emerald-100 text-emerald-800' : 'bg-amber-100 text-amber-900'}`}>
          {feed === 'open' ? 'Live' : feed === 'connecting' ? 'Connecting…' : 'Feed offline, reconnecting'}
        </span>
      </div>
      {error && (
        <div role="alert" className="mb-3 flex flex-wrap items-center gap-3 rounded bg-rose-50 p-2 text-rose-800">
          <span>{error}</span>
          {denied && !auth.user && (
            <button type="button" onClick={() => open('signin')} className="rounded bg-brand-700 px-3 py-1 text-sm text-white">Sign in</button>
          )}
        </div>
      )}

      <ProblemSummaryPanel sum={summary} />

      <section aria-labelledby="graph-h" className="mb-6">
        <div className="mb-2 flex flex-wrap items-center gap-3">
          <h2 id="graph-h" className="text-lg font-semibold">Pipeline</h2>
          <ViewToggle shown={shown} onPick={setView} />
          <label className="text-sm">Colour by average latency over the last
            <select value={lastN} onChange={(e) => setLastN(Number(e.target.value))} className="mx-1 rounded border border-slate-300 px-1 py-0.5">
              {[10, 20, 50, 100, 200].map((n) => <option key={n} value={n}>{n}</option>)}
            </select>turns
          </label>
          <Legend />
        </div>
        {!info ? !error && <p role="status">Loading the pipeline…</p>
          : shown === 'list' ? <StageList info={info} stats={stats} lastRoute={lastRoute} problems={summary.perStage} />
            : <PipelineGraph info={info} stats={stats} lastRoute={lastRoute} problems={summary.perStage} />}
      </section>

      <div className="mb-6 grid gap-6 lg:grid-cols-2">
        <section aria-labelledby="lint-h">
          <h2 id="lint-h" className="mb-2 text-lg font-semibold">Lint <span className="text-sm font-normal text-slate-600">({plural(diags.filter((d) => d.severity === 'error').length, 'error')}, {plural(diags.filter((d) => d.severity !== 'error').length, 'warning')})</span></h2>
          {diags.length === 0 ? (
            <p className="text-sm text-emerald-800" data-testid="lint-clean">
              No lint errors: the loaded files are clean.
              {summary.ruleErrors.count > 0 && (
                <span className="ml-1 font-medium text-rose-800" data-testid="lint-runtime-note">
                  Lint cannot see errors at run time: rules failed in {summary.ruleErrors.turns} of {summary.turns} recent {summary.turns === 1 ? 'turn' : 'turns'} (see Problems).
                </span>
              )}
            </p>
          ) : (
            <ul className="space-y-1 text-sm" data-testid="lint-list">
              {diags.map((d, i) => (
                <li key={i} className={d.severity === 'error' ? 'text-rose-800' : 'text-amber-800'}>
                  <code className="text-xs">{d.where ?? `${d.file}:${d.line}:${d.col}`}</code> {d.severity}: {d.message}
                </li>
              ))}
            </ul>
          )}
        </section>
        <section aria-labelledby="reloads-h">
          <h2 id="reloads-h" className="mb-2 text-lg font-semibold">Reloads <span className="text-sm font-normal text-slate-600">{info?.watching ? '(watching files)' : ''}</span></h2>
          <div className="max-h-56 overflow-auto rounded border border-slate-200 bg-white">
            <table className="w-full text-sm" data-testid="reload-table">
              <thead className="sticky top-0 bg-slate-50 text-left text-xs text-slate-600">
                <tr><th className="px-2 py-1">time</th><th className="px-2 py-1">trigger</th><th className="px-2 py-1">result</th><th className="px-2 py-1">pipeline</th><th className="px-2 py-1 text-right">load</th></tr>
              </thead>
              <tbody>
                {reloads.map((r, i) => (
                  <tr key={i} className="border-t border-slate-100">
                    <td className="px-2 py-1 text-xs">{when(r.at)}</td>
                    <td className="px-2 py-1">{r.trigger}{r.actor ? ` (${r.actor})` : ''}</td>
                    <td className="px-2 py-1">{r.ok ? <span className="text-emerald-800">loaded</span>
                      : <span className="text-rose-800" title={r.diagnostics?.map((d) => `${d.where}: ${d.message}`).join('\n')}>rejected ({plural(r.errors ?? 0, 'error')})</span>}</td>
                    <td className="px-2 py-1">{r.pipeline ? `${r.pipeline} v${r.version}` : '–'}</td>
                    <td className="px-2 py-1 text-right text-xs">{ms(r.loadUs)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </section>
      </div>

      <section aria-labelledby="turns-h">
        <div className="mb-2 flex flex-wrap items-center gap-x-4 gap-y-1">
          <h2 id="turns-h" className="text-lg font-semibold">Turns <span className="text-sm font-normal text-slate-600">({turns.length}, newest first)</span></h2>
          <label className="flex items-center gap-2 text-sm">
            <input type="checkbox" checked={onlyProblems} onChange={(e) => setOnlyProblems(e.target.checked)} data-testid="only-problems" />
            Only turns with problems
          </label>
        </div>
        {turns.length === 0 ? <p className="text-sm text-slate-600">No turns yet. Send a message on the chat page and it shows up here.</p>
          : listed.length === 0 ? <p className="text-sm text-slate-600">No turn had rule errors, fallbacks or slow stages.</p>
            : narrow ? (
              <ol className="space-y-2" data-testid="turn-list" aria-live="polite" aria-relevant="additions">
                {listed.map(({ t, p }) => (
                  <TurnCard key={t.id} t={t} p={p} extra={extras[t.id]} open={openId === t.id} onToggle={() => toggle(t.id)} />
                ))}
              </ol>
            ) : (
              <div className="overflow-x-auto rounded border border-slate-200 bg-white">
                <table className="w-full text-sm" data-testid="turn-table">
                  <thead className="bg-slate-50 text-left text-xs text-slate-600">
                    <tr>{TURN_COLUMNS.map((c) => <th key={c} className={`px-2 py-1 ${c === 'total' ? 'text-right' : ''}`}>{c}</th>)}</tr>
                  </thead>
                  <tbody aria-live="polite" aria-relevant="additions">
                    {listed.map(({ t, p }) => (
                      <TurnRow key={t.id} t={t} p={p} extra={extras[t.id]} open={openId === t.id} onToggle={() => toggle(t.id)} />
                    ))}
                  </tbody>
                </table>
              </div>
            )}
      </section>
    </div>
  )
}

/* newest first, no duplicates, at most KEEP */
export function merge(have: Turn[], add: Turn[]): Turn[] {
  const seen = new Set(have.map((t) => t.id))
  const fresh = add.filter((t) => t && !seen.has(t.id))
  return [...fresh, ...have].sort((a, b) => b.at - a.at).slice(0, KEEP)
}
