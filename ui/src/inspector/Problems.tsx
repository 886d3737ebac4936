// What went wrong without failing a turn: the rules that failed (rule id,
// file:line, message), the fallbacks taken and the slow stages, for one
// turn (its details) and summed over the recent turns.
import type { ReactNode } from 'react'
import { ms, SLOW_US, type Fallback, type ProblemSummary, type RuleError, type SlowStage } from './metrics'
import { plural } from '../words'


export function RuleErrorList({ errs }: { errs: RuleError[] }) {
  if (!errs.length) return <p className="text-slate-600">Rule errors: none</p>
  return (
    <div className="rounded border border-rose-200 bg-rose-50 p-2 text-rose-900" role="group" aria-label="Rule errors">
      <p className="font-semibold">Rule errors ({errs.length})</p>
      <ul data-testid="rule-error-list" className="space-y-1">
        {errs.map((e, i) => (
          <li key={i} data-testid="rule-error" className="break-words">
            <code className="font-semibold">{e.id}</code> at <code data-testid="rule-error-where">{e.where}</code>
            {(e.hook || e.stage) && <span className="text-rose-800"> ({[e.hook, e.stage && `stage ${e.stage}`].filter(Boolean).join(', ')})</span>}
            : {e.message}
            {e.count > 1 && <span className="text-rose-800"> ({e.count}×)</span>}
            {e.denied && <span className="ml-1 font-semibold">: the veto failed, so the action was denied</span>}
          </li>
        ))}
      </ul>
    </div>
  )
}

export function FallbackList({ fb }: { fb: Fallback[] }) {
  if (!fb.length) return <p className="text-slate-600" data-testid="fallback-list">Fallbacks: none</p>
  return (
    <div className="rounded border border-amber-200 bg-amber-50 p-2 text-amber-950" role="group" aria-label="Fallbacks">
      <p className="font-semibold">Fallbacks ({fb.length})</p>
      <ul data-testid="fallback-list" className="list-disc space-y-0.5 pl-4">
        {fb.map((f, i) => <li key={i} className="break-words" data-kind={f.kind}>{f.text}</li>)}
      </ul>
    </div>
  )
}

export function SlowList({ slow }: { slow: SlowStage[] }) {
  if (!slow.length) return <p className="text-slate-600">Slow stages (≥ {ms(SLOW_US)}): none</p>
  return (
    <div className="rounded border border-orange-200 bg-orange-50 p-2 text-orange-950" role="group" aria-label="Slow stages">
      <p className="font-semibold">Slow stages (≥ {ms(SLOW_US)})</p>
      <ul data-testid="slow-list" className="list-disc pl-4">
        {slow.map((s, i) => <li key={i}><code>{s.stage}</code> took {ms(s.us)}</li>)}
      </ul>
    </div>
  )
}

function Tile({ title, count, turns, of, tone, testid, children }: {
  title: string; count: number; turns: number; of: number; tone: string; testid: string; children: ReactNode
}) {
  return (
    <div className={`min-w-0 rounded-md border p-3 ${count ? tone : 'border-slate-200 bg-white'}`} data-testid={testid} data-count={count}>
      <h3 className="text-sm font-semibold">{title}</h3>
      <p className="mb-1">
        <span className="text-2xl font-bold" data-testid={`${testid}-count`}>{count}</span>
        <span className="ml-2 text-xs">{count ? `in ${turns} of ${plural(of, 'turn')}` : 'none'}</span>
      </p>
      {count > 0 && <ul className="space-y-0.5 text-xs">{children}</ul>}
    </div>
  )
}

export function ProblemSummaryPanel({ sum }: { sum: ProblemSummary }) {
  return (
    <section aria-labelledby="problems-h" className="mb-6" data-testid="problem-summary">
      <h2 id="problems-h" className="mb-2 text-lg font-semibold">
        Problems <span className="text-sm font-normal text-slate-600">(over {plural(sum.turns, 'recent turn')})</span>
      </h2>
      <div className="grid gap-3 md:grid-cols-3">
        <Tile title="Rule errors" count={sum.ruleErrors.count} turns={sum.ruleErrors.turns} of={sum.turns}
          tone="border-rose-300 bg-rose-50 text-rose-950" testid="summary-rule-errors">
          {sum.ruleErrors.byRule.map((e) => (
            <li key={`${e.id} ${e.where}`} className="break-words">
              <code className="font-semibold">{e.id}</code> <code>{e.where}</code> · {plural(e.turns, 'turn')}
              <div className="text-rose-800">{e.message}</div>
            </li>
          ))}
        </Tile>
        <Tile title="Fallbacks" count={sum.fallbacks.count} turns={sum.fallbacks.turns} of={sum.turns}
          tone="border-amber-300 bg-amber-50 text-amber-950" testid="summary-fallbacks">
          {sum.fallbacks.byGroup.map((g) => <li key={g.group} className="break-words">{g.group} · {g.count}×</li>)}
        </Tile>
        <Tile title={`Slow stages (≥ ${ms(SLOW_US)})`} count={sum.slow.count} turns={sum.slow.turns} of={sum.turns}
          tone="border-orange-300 bg-orange-50 text-orange-950" testid="summary-slow">
          {sum.slow.byStage.map((s) => <li key={s.stage}><code>{s.stage}</code> · {s.count}× · max {ms(s.maxUs)}</li>)}
        </Tile>
      </div>
    </section>
  )
}
