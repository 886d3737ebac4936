// The inspector for product teams: the loaded pipeline as a graph coloured
// by stage latency over the last N turns, a live list of turns (from the
// traces feed on /ws), the current lint errors and the reload history, and
// the rule ids that changed prices in a turn and the rules that failed in it.
import { Fragment, useCallback, useEffect, useMemo, useRef, useState } from 'react'
import { ApiError, wsUrl } from '../api/client'
import type { PipelineInfo, TraceSummary } from '../api/types'
import { ChatSocket, type SocketStatus } from '../chat/socket'
import { useTitle } from '../router'
import { useApp } from '../state'
import { BANDS, IDLE, band, fallbacks, ms, priceRules, ruleErrors, stageStats, type RuleError, type RuleHit } from './metrics'
import { PipelineGraph } from './PipelineGraph'

const KEEP = 200
const when = (t: number) => new Date(t).toLocaleTimeString()

interface TurnExtra {
  rules?: RuleHit[]
  ruleErrors?: RuleError[]
  fallbacks?: string[]
  error?: string
}

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

function StageBars({ t }: { t: TraceSummary }) {
  const total = Math.max(1, (t.stages ?? []).reduce((n, s) => n + s.us, 0))
  return (
    <div className="flex h-2.5 w-full min-w-24 overflow-hidden rounded bg-slate-100" aria-hidden="true">
      {(t.stages ?? []).map((s, i) => (
        <span key={i} title={`${s.stage} ${ms(s.us)}`} style={{ width: `${(s.us / total) * 100}%`, background: band(s.us).fill, borderRight: '1px solid white' }} />
      ))}
    </div>
  )
}

export function TurnRow({ t, extra, open, onToggle }: { t: TraceSummary; extra?: TurnExtra; open: boolean; onToggle: () => void }) {
  const fb = extra?.fallbacks ?? fallbacks(t)
  const rules = extra?.rules
  const errs = extra?.ruleErrors
  return (
    <Fragment>
      <tr className="border-t border-slate-200 align-top" data-testid="turn-row" data-trace={t.id}>
        <td className="whitespace-nowrap px-2 py-1.5 text-xs text-slate-600">{when(t.at)}</td>
        <td className="max-w-56 px-2 py-1.5">
          <button type="button" onClick={onToggle} aria-expanded={open} className="text-left text-brand-800 underline-offset-2 hover:underline">
            {t.text || '(no text)'}
          </button>
        </td>
        <td className="whitespace-nowrap px-2 py-1.5">
          <span className="font-medium" data-testid="turn-intent">{t.intent?.name ?? '–'}</span>
          {t.intent && <span className="ml-1 text-xs text-slate-500">{Math.round(t.intent.confidence * 100)}%</span>}
          {t.intent?.source && t.intent.source !== 'builtin' && <span className="ml-1 text-xs text-slate-500">({t.intent.source})</span>}
        </td>
        <td className="px-2 py-1.5" data-testid="turn-route">{t.route ?? '–'}</td>
        <td className="px-2 py-1.5 text-xs">{fb.length ? <span className="text-amber-800">{fb.join('; ')}</span> : <span className="text-slate-500">none</span>}</td>
        <td className="px-2 py-1.5 text-xs" data-testid="turn-rule-errors">
          {errs === undefined ? <span className="text-slate-500">…</span>
            : errs.length === 0 ? <span className="text-slate-500">none</span>
              : errs.map((e, i) => (
                <code key={i} title={`${e.where}: ${e.message}`} className="mr-1 rounded bg-rose-100 px-1 font-semibold text-rose-900">
                  {e.id}{e.denied ? ' (denied)' : ''}
                </code>))}
        </td>
        <td className="px-2 py-1.5 text-xs" data-testid="turn-rules">
          {rules === undefined ? <span className="text-slate-500">…</span>
            : rules.length === 0 ? <span className="text-slate-500">none</span>
              : rules.map((r) => <code key={r.id} title={r.reason} className="mr-1 rounded bg-rose-50 px-1 text-rose-800">{r.id}{r.version !== undefined ? `@${r.version}` : ''}</code>)}
        </td>
        <td className="whitespace-nowrap px-2 py-1.5 text-right text-xs">{ms(t.elapsedUs ?? (t.stages ?? []).reduce((n, s) => n + s.us, 0))}</td>
        <td className="px-2 py-1.5"><StageBars t={t} /></td>
      </tr>
      {open && (
        <tr className="bg-slate-50">
          <td colSpan={9} className="px-3 py-2">
            <table className="w-full text-xs">
              <caption className="sr-only">Stages of this turn</caption>
              <thead><tr className="text-left text-slate-500"><th className="pr-3">stage</th><th className="pr-3">type</th><th className="pr-3">result</th><th className="pr-3 text-right">time</th><th>note</th></tr></thead>
              <tbody>
                {(t.stages ?? []).map((s, i) => (
                  <tr key={i}><td className="pr-3 font-medium">{s.stage}</td><td className="pr-3">{s.type}</td><td className="pr-3">{s.result}</td>
                    <td className="pr-3 text-right">{ms(s.us)}</td><td>{s.note}</td></tr>
                ))}
              </tbody>
            </table>
            {!!rules?.length && (
              <ul className="mt-2 text-xs">
                {rules.map((r) => <li key={r.id}><code>{r.id}</code>{r.version !== undefined && ` v${r.version}`}: {r.reason} <span className="text-slate-500">({r.where})</span></li>)}
              </ul>
            )}
            {!!errs?.length && (
              <div className="mt-2 rounded border border-rose-200 bg-rose-50 p-2 text-xs text-rose-900" role="group" aria-label="Rule errors">
                <p className="font-semibold">Rule errors ({errs.length})</p>
                <ul data-testid="rule-error-list">
                  {errs.map((e, i) => (
                    <li key={i}><code>{e.id}</code> at <code>{e.where}</code>{e.hook && ` (${e.hook})`}: {e.message}
                      {e.denied && <span className="ml-1 font-semibold">: the veto failed, so the action was denied</span>}</li>
                  ))}
                </ul>
              </div>
            )}
            {t.intent?.alternatives && (
              <p className="mt-2 text-xs text-slate-600">Alternatives: {t.intent.alternatives.map((a) => `${a.name} ${Math.round(a.confidence * 100)}%`).join(', ')}</p>
            )}
            <p className="mt-1 text-xs text-slate-500">Trace {t.id}{t.pipeline && ` · ${t.pipeline.name} v${t.pipeline.version}`}{t.sessionId && ` · session ${t.sessionId.slice(0, 8)}…`}</p>
            {extra?.error && <p className="text-xs text-rose-700">{extra.error}</p>}
          </td>
        </tr>
      )}
    </Fragment>
  )
}

export function InspectorPage() {
  useTitle('Inspector')
  const { api, auth, open } = useApp()
  const [info, setInfo] = useState<PipelineInfo | null>(null)
  const [error, setError] = useState('')
  const [denied, setDenied] = useState(false)
  const [turns, setTurns] = useState<TraceSummary[]>([])
  const [extras, setExtras] = useState<Record<string, TurnExtra>>({})
  const [lastN, setLastN] = useState(20)
  const [openId, setOpenId] = useState<string | null>(null)
  const [feed, setFeed] = useState<SocketStatus>('connecting')
  const queue = useRef<string[]>([])
  const turnsRef = useRef<TraceSummary[]>([])
  turnsRef.current = turns
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
        const t = turnsRef.current.find((y) => y.id === id)
        setExtras((x) => ({ ...x, [id]: { rules: priceRules(ctx), ruleErrors: ruleErrors(ctx), fallbacks: t ? fallbacks(t, ctx) : undefined } }))
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
          want([f.trace.id])
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
  const stats = useMemo(() => stageStats(turns, lastN), [turns, lastN])
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

      <section aria-labelledby="graph-h" className="mb-6">
        <div className="mb-2 flex flex-wrap items-center gap-3">
          <h2 id="graph-h" className="text-lg font-semibold">Graph</h2>
          <label className="text-sm">Colour by average latency over the last
            <select value={lastN} onChange={(e) => setLastN(Number(e.target.value))} className="mx-1 rounded border border-slate-300 px-1 py-0.5">
              {[10, 20, 50, 100, 200].map((n) => <option key={n} value={n}>{n}</option>)}
            </select>turns
          </label>
          <Legend />
        </div>
        {info ? <PipelineGraph info={info} stats={stats} lastRoute={lastRoute} /> : !error && <p role="status">Loading the pipeline…</p>}
      </section>

      <div className="mb-6 grid gap-6 lg:grid-cols-2">
        <section aria-labelledby="lint-h">
          <h2 id="lint-h" className="mb-2 text-lg font-semibold">Lint <span className="text-sm font-normal text-slate-600">({diags.filter((d) => d.severity === 'error').length} errors, {diags.filter((d) => d.severity !== 'error').length} warnings)</span></h2>
          {diags.length === 0 ? <p className="text-sm text-emerald-800" data-testid="lint-clean">No lint errors: the loaded files are clean.</p> : (
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
                      : <span className="text-rose-800" title={r.diagnostics?.map((d) => `${d.where}: ${d.message}`).join('\n')}>rejected ({r.errors} errors)</span>}</td>
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
        <h2 id="turns-h" className="mb-2 text-lg font-semibold">Turns <span className="text-sm font-normal text-slate-600">({turns.length}, newest first)</span></h2>
        {turns.length === 0 ? <p className="text-sm text-slate-600">No turns yet. Send a message on the chat page and it shows up here.</p> : (
          <div className="overflow-x-auto rounded border border-slate-200 bg-white">
            <table className="w-full text-sm" data-testid="turn-table">
              <thead className="bg-slate-50 text-left text-xs text-slate-600">
                <tr><th className="px-2 py-1">time</th><th className="px-2 py-1">message</th><th className="px-2 py-1">intent</th><th className="px-2 py-1">route</th>
                  <th className="px-2 py-1">fallbacks</th><th className="px-2 py-1">rule errors</th><th className="px-2 py-1">price rules</th><th className="px-2 py-1 text-right">total</th><th className="px-2 py-1">stages</th></tr>
              </thead>
              <tbody aria-live="polite" aria-relevant="additions">
                {turns.map((t) => (
                  <TurnRow key={t.id} t={t} extra={extras[t.id]} open={openId === t.id}
                    onToggle={() => {
                      setOpenId(openId === t.id ? null : t.id)
                      if (!extras[t.id]) want([t.id])
                    }} />
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
export function merge(have: TraceSummary[], add: TraceSummary[]): TraceSummary[] {
  const seen = new Set(have.map((t) => t.id))
  const fresh = add.filter((t) => t && !seen.has(t.id))
  return [...fresh, ...have].sort((a, b) => b.at - a.at).slice(0, KEEP)
}
