// One turn in the inspector's list: a table row on wide screens, a card
// on narrow ones; both open the same details (stages with their times,
// the rules that failed, the fallbacks taken, the slow stages, the price
// rules that fired).
import { Fragment } from 'react'
import type { TraceSummary } from '../api/types'
import { band, ms, SLOW_US, type RuleHit, type Turn, type TurnProblems } from './metrics'
import { FallbackList, RuleErrorList, SlowList } from './Problems'

export interface TurnExtra {
  rules?: RuleHit[]
  ctx?: Record<string, unknown>
  error?: string
}

const when = (t: number) => new Date(t).toLocaleTimeString()
const total = (t: TraceSummary) => t.elapsedUs ?? (t.stages ?? []).reduce((n, s) => n + s.us, 0)

export function StageBars({ t }: { t: TraceSummary }) {
  const sum = Math.max(1, (t.stages ?? []).reduce((n, s) => n + s.us, 0))
  return (
    <div className="flex h-2.5 w-full min-w-24 overflow-hidden rounded bg-slate-100" aria-hidden="true">
      {(t.stages ?? []).map((s, i) => (
        <span key={i} title={`${s.stage} ${ms(s.us)}`} style={{ width: `${(s.us / sum) * 100}%`, background: band(s.us).fill, borderRight: '1px solid white' }} />
      ))}
    </div>
  )
}

/* wrap: on a card, long ids and paths break rather than widen the page;
 * in the table they keep to one line */
function RuleErrorChips({ p, wrap = false }: { p: TurnProblems; wrap?: boolean }) {
  if (!p.ruleErrors.length) return <span className="text-slate-600">none</span>
  const brk = wrap ? 'break-words' : 'whitespace-nowrap'
  return (
    <>
      {p.ruleErrors.map((e, i) => (
        <span key={i} title={`${e.where}: ${e.message}`}>
          <code className={`${brk} rounded bg-rose-100 px-1 font-semibold text-rose-900`}>{e.id}{e.denied ? ' (denied)' : ''}</code>{' '}
          <code className={`${brk} text-[11px] text-rose-800`}>{e.where}</code>{' '}
        </span>
      ))}
    </>
  )
}

function FallbackChips({ p }: { p: TurnProblems }) {
  if (!p.fallbacks.length) return <span className="text-slate-600">none</span>
  return <span className="text-amber-900">{p.fallbacks.map((f) => f.group).join('; ')}</span>
}

function SlowChips({ p }: { p: TurnProblems }) {
  if (!p.slow.length) return <span className="text-slate-600">none</span>
  return <span className="text-orange-900">{p.slow.map((s) => `${s.stage} ${ms(s.us)}`).join(', ')}</span>
}

export function TurnDetail({ t, extra, p }: { t: Turn; extra?: TurnExtra; p: TurnProblems }) {
  const rules = extra?.rules
  const errsAt = (stage: string) => p.ruleErrors.filter((e) => e.stage === stage).length
  return (
    <div className="space-y-2 text-xs" data-testid="turn-detail">
      <div className="overflow-x-auto">
        <table className="w-full">
          <caption className="sr-only">Stages of this turn</caption>
          <thead><tr className="text-left text-slate-600"><th className="pr-3">stage</th><th className="pr-3">type</th><th className="pr-3">result</th><th className="pr-3 text-right">time</th><th>note</th></tr></thead>
          <tbody>
            {(t.stages ?? []).map((s, i) => {
              const n = errsAt(s.stage)
              const slow = s.us >= SLOW_US
              return (
                <tr key={i} className="align-top">
                  <td className="pr-3 font-medium">{s.stage}</td><td className="pr-3">{s.type}</td>
                  <td className={`pr-3 ${s.result && !['ok', 'declined', 'done'].includes(s.result) ? 'font-semibold text-rose-800' : ''}`}>{s.result}</td>
                  <td className={`whitespace-nowrap pr-3 text-right ${slow ? 'font-semibold text-orange-900' : ''}`}>{ms(s.us)}{slow && ' (slow)'}</td>
                  <td className="break-words">{s.note}
                    {n > 0 && <span className="ml-1 rounded bg-rose-100 px-1 font-semibold text-rose-900">{n} rule {n === 1 ? 'error' : 'errors'}</span>}
                  </td>
                </tr>
              )
            })}
          </tbody>
        </table>
      </div>
      <RuleErrorList errs={p.ruleErrors} />
      <FallbackList fb={p.fallbacks} />
      <SlowList slow={p.slow} />
      {!!rules?.length && (
        <ul>
          {rules.map((r) => <li key={r.id}><code>{r.id}</code>{r.version !== undefined && ` v${r.version}`}: {r.reason} <span className="text-slate-600">({r.where})</span></li>)}
        </ul>
      )}
      {t.intent?.alternatives && (
        <p className="text-slate-600">Alternatives: {t.intent.alternatives.map((a) => `${a.name} ${Math.round(a.confidence * 100)}%`).join(', ')}</p>
      )}
      <p className="break-all text-slate-600">Trace {t.id}{t.pipeline && ` · ${t.pipeline.name} v${t.pipeline.version}`}{t.sessionId && ` · session ${t.sessionId.slice(0, 8)}…`}</p>
      {extra?.error && <p className="text-rose-700">{extra.error}</p>}
    </div>
  )
}

function Intent({ t }: { t: Turn }) {
  return (
    <>
      <span className="font-medium" data-testid="turn-intent">{t.intent?.name ?? '–'}</span>
      {t.intent && <span className="ml-1 text-xs text-slate-600">{Math.round(t.intent.confidence * 100)}%</span>}
      {t.intent?.source && t.intent.source !== 'builtin' && <span className="ml-1 text-xs text-slate-600">({t.intent.source})</span>}
    </>
  )
}

function PriceRules({ rules }: { rules?: RuleHit[] }) {
  return rules === undefined ? <span className="text-slate-600">…</span>
    : rules.length === 0 ? <span className="text-slate-600">none</span>
      : <>{rules.map((r) => <Fragment key={r.id}><code title={r.reason} className="whitespace-nowrap rounded bg-rose-50 px-1 text-rose-800">{r.id}{r.version !== undefined ? `@${r.version}` : ''}</code>{' '}</Fragment>)}</>
}

export const TURN_COLUMNS = ['time', 'message', 'intent', 'route', 'fallbacks', 'rule errors', 'slow stages', 'price rules', 'total', 'stages']

export function TurnRow({ t, extra, p, open, onToggle }: { t: Turn; extra?: TurnExtra; p: TurnProblems; open: boolean; onToggle: () => void }) {
  return (
    <Fragment>
      <tr className={`border-t border-slate-200 align-top ${p.ruleErrors.length ? 'bg-rose-50/60' : ''}`} data-testid="turn-row" data-trace={t.id}>
        <td className="whitespace-nowrap px-2 py-1.5 text-xs text-slate-600">{when(t.at)}</td>
        <td className="max-w-56 px-2 py-1.5">
          <button type="button" onClick={onToggle} aria-expanded={open} className="text-left text-brand-800 underline-offset-2 hover:underline">
            {t.text || '(no text)'}
          </button>
        </td>
        <td className="whitespace-nowrap px-2 py-1.5"><Intent t={t} /></td>
        <td className="px-2 py-1.5" data-testid="turn-route">{t.route ?? '–'}</td>
        <td className="max-w-48 px-2 py-1.5 text-xs" data-testid="turn-fallbacks"><FallbackChips p={p} /></td>
        <td className="px-2 py-1.5 text-xs" data-testid="turn-rule-errors"><RuleErrorChips p={p} /></td>
        <td className="px-2 py-1.5 text-xs" data-testid="turn-slow"><SlowChips p={p} /></td>
        <td className="px-2 py-1.5 text-xs" data-testid="turn-rules"><PriceRules rules={extra?.rules} /></td>
        <td className="whitespace-nowrap px-2 py-1.5 text-right text-xs">{ms(total(t))}</td>
        <td className="px-2 py-1.5"><StageBars t={t} /></td>
      </tr>
      {open && (
        <tr className="bg-slate-50">
          <td colSpan={TURN_COLUMNS.length} className="px-3 py-2"><TurnDetail t={t} extra={extra} p={p} /></td>
        </tr>
      )}
    </Fragment>
  )
}

/* the same turn on a narrow screen: no table to scroll sideways */
export function TurnCard({ t, extra, p, open, onToggle }: { t: Turn; extra?: TurnExtra; p: TurnProblems; open: boolean; onToggle: () => void }) {
  return (
    <li className={`rounded-md border p-2 ${p.ruleErrors.length ? 'border-rose-300 bg-rose-50/60' : 'border-slate-200 bg-white'}`}
      data-testid="turn-card" data-trace={t.id}>
      <div className="flex items-start gap-2">
        <button type="button" onClick={onToggle} aria-expanded={open}
          className="min-w-0 flex-1 break-words text-left font-medium text-brand-800 underline-offset-2 hover:underline">
          {t.text || '(no text)'}
        </button>
        <span className="shrink-0 text-xs text-slate-600">{ms(total(t))}</span>
      </div>
      <p className="mt-0.5 text-xs text-slate-700">
        {when(t.at)} · <Intent t={t} /> → <span data-testid="turn-route">{t.route ?? '–'}</span>
      </p>
      <div className="my-1"><StageBars t={t} /></div>
      <dl className="grid grid-cols-[auto_1fr] gap-x-2 text-xs">
        <dt className="text-slate-600">Rule errors</dt><dd className="min-w-0 break-words" data-testid="turn-rule-errors"><RuleErrorChips p={p} wrap /></dd>
        <dt className="text-slate-600">Fallbacks</dt><dd className="min-w-0 break-words" data-testid="turn-fallbacks"><FallbackChips p={p} /></dd>
        <dt className="text-slate-600">Slow</dt><dd className="min-w-0" data-testid="turn-slow"><SlowChips p={p} /></dd>
        <dt className="text-slate-600">Price rules</dt><dd className="min-w-0 break-words" data-testid="turn-rules"><PriceRules rules={extra?.rules} /></dd>
      </dl>
      {open && <div className="mt-2 border-t border-slate-200 pt-2"><TurnDetail t={t} extra={extra} p={p} /></div>}
    </li>
  )
}
