// The loaded pipeline as a list, for narrow screens where the graph is
// too small to read: the stages in pipeline order, each coloured by its
// average latency over the last N turns, with where it goes next and what
// went wrong in it (rule errors, fallbacks, slow runs).
import type { PipelineInfo } from '../api/types'
import { band, ms, type StageProblems, type StageStat } from './metrics'
import { plural } from '../words'


export function StageList({ info, stats, lastRoute, problems }: {
  info: PipelineInfo
  stats: Map<string, StageStat>
  lastRoute?: Set<string>
  problems?: Map<string, StageProblems>
}) {
  const g = info.graph
  if (!g) return <p className="p-4">No pipeline is loaded.</p>
  return (
    <ol className="space-y-2" data-testid="stage-list" aria-label="Stages in pipeline order">
      {g.stages.map((s, i) => {
        const st = stats.get(s.id)
        const b = band(st?.avgUs)
        const out = g.edges.filter((e) => e.from === s.id)
        const next = [...new Set(out.filter((e) => e.kind !== 'route').map((e) => e.to))]
        const routes = [...new Set(out.filter((e) => e.kind === 'route').map((e) => e.to))]
        const p = problems?.get(s.id)
        const bad = !!p && p.ruleErrors + p.fallbacks + p.slow > 0
        return (
          <li key={s.id} data-testid={`stage-item-${s.id}`} data-band={b.label}
            className={`rounded-md border p-2 text-sm ${lastRoute?.has(s.id) ? 'border-2 border-brand-700' : 'border-slate-300'}`}
            style={{ background: b.fill, color: b.text }}>
            <div className="flex flex-wrap items-baseline gap-x-2">
              <span className="text-xs" aria-hidden="true">{i + 1}.</span>
              <span className="font-semibold">{s.id}</span>{' '}
              <span>{s.type}</span>{' '}
              {lastRoute?.has(s.id) && <span className="rounded bg-white/70 px-1 text-xs">ran in the last turn</span>}
              <span className="ml-auto text-xs">{st ? `avg ${ms(st.avgUs)} · p95 ${ms(st.p95Us)} · ${st.count}×` : 'not run yet'}</span>
            </div>
            {(next.length > 0 || routes.length > 0) && (
              <p className="mt-0.5 break-words text-xs">
                {next.length > 0 && <>then <span className="font-medium">{next.join(', ')}</span></>}
                {next.length > 0 && routes.length > 0 && '; '}
                {routes.length > 0 && <>routes to <span className="font-medium">{routes.join(', ')}</span></>}
              </p>
            )}
            {bad && (
              <p className="mt-1 flex flex-wrap gap-1 text-xs" data-testid="stage-problems">
                {p.ruleErrors > 0 && <span className="rounded bg-rose-700 px-1.5 font-semibold text-white">{plural(p.ruleErrors, 'rule error')}</span>}
                {p.fallbacks > 0 && <span className="rounded bg-amber-800 px-1.5 font-semibold text-white">{plural(p.fallbacks, 'fallback')}</span>}
                {p.slow > 0 && <span className="rounded bg-orange-800 px-1.5 font-semibold text-white">{p.slow} slow</span>}
              </p>
            )}
          </li>
        )
      })}
    </ol>
  )
}
