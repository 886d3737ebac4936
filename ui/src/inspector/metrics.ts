// What the inspector computes from turn traces: per-stage latency over
// the last N turns, the colour for a latency, the rule ids that changed
// prices in a turn's context, and what went wrong in a turn without
// failing it (rules that failed, fallbacks taken, slow stages), per turn
// and over the recent turns.
import type { AppliedRule, TraceSummary } from '../api/types'

/* a rule failure as the engine records it (ctx.vars.ruleErrors, and the
 * trace summary's ruleErrors) */
export interface RawRuleError {
  id?: string
  file?: string
  line?: number
  hook?: string
  stage?: string
  message?: string
  error?: string
  denied?: boolean
}

/* an LLM fallback as the engine records it (ctx.fallbacks, and the trace
 * summary's fallbacks) */
export interface RawFallback {
  stage?: string
  kind?: string
  reason?: string
}

/* a turn as GET /traces and the traces feed give it: the summary plus
 * what went wrong without failing the turn */
export type Turn = TraceSummary & {
  ruleErrors?: RawRuleError[]
  fallbacks?: RawFallback[]
  timedOut?: boolean
}

export interface StageStat {
  count: number
  avgUs: number
  p95Us: number
  maxUs: number
}

export function stageStats(turns: TraceSummary[], lastN: number): Map<string, StageStat> {
  const per = new Map<string, number[]>()
  for (const t of turns.slice(0, lastN))
    for (const s of t.stages ?? []) {
      const a = per.get(s.stage) ?? []
      a.push(s.us)
      per.set(s.stage, a)
    }
  const out = new Map<string, StageStat>()
  for (const [id, a] of per) {
    const sorted = [...a].sort((x, y) => x - y)
    const p95 = sorted[Math.min(sorted.length - 1, Math.ceil(sorted.length * 0.95) - 1)]
    out.set(id, {
      count: a.length,
      avgUs: a.reduce((x, y) => x + y, 0) / a.length,
      p95Us: p95,
      maxUs: sorted[sorted.length - 1],
    })
  }
  return out
}

/* latency bands, shared by the graph and its legend */
export const BANDS: { maxUs: number; label: string; fill: string; text: string }[] = [
  { maxUs: 1_000, label: '< 1 ms', fill: '#d1fae5', text: '#065f46' },
  { maxUs: 10_000, label: '1–10 ms', fill: '#fef9c3', text: '#713f12' },
  { maxUs: 100_000, label: '10–100 ms', fill: '#fed7aa', text: '#7c2d12' },
  { maxUs: Infinity, label: '≥ 100 ms', fill: '#fecaca', text: '#7f1d1d' },
]
export const IDLE = { fill: '#f1f5f9', text: '#475569', label: 'not run' }

export function band(us: number | undefined) {
  if (us === undefined) return IDLE
  return BANDS.find((b) => us < b.maxUs) ?? BANDS[BANDS.length - 1]
}

export function ms(us: number | undefined): string {
  if (us === undefined) return '–'
  if (us < 1000) return `${(us / 1000).toFixed(2)} ms`
  if (us < 100_000) return `${(us / 1000).toFixed(1)} ms`
  return `${Math.round(us / 1000)} ms`
}

export interface RuleHit {
  id: string
  version?: number | string
  reason?: string
  where: string
}

/* the price rules that fired in a turn, from its full context
 * (GET /api/v1/traces/{id}): on shown cards, cart lines, cart discounts
 * and actions */
export function priceRules(ctx: Record<string, unknown>): RuleHit[] {
  const hits = new Map<string, RuleHit>()
  const add = (r: AppliedRule | undefined, where: string) => {
    if (!r || typeof r.id !== 'string') return
    if (!hits.has(r.id)) hits.set(r.id, { id: r.id, version: r.version, reason: r.reason, where })
  }
  const arr = (v: unknown) => (Array.isArray(v) ? v : []) as Record<string, unknown>[]
  const reply = (ctx.reply ?? {}) as Record<string, unknown>
  for (const c of arr(reply.cards)) for (const r of arr(c.appliedRules)) add(r as unknown as AppliedRule, 'card')
  const cart = (ctx.cart ?? {}) as Record<string, unknown>
  for (const l of arr(cart.items)) for (const r of arr(l.appliedRules)) add(r as unknown as AppliedRule, 'cart line')
  for (const d of arr(cart.discounts)) add(d as unknown as AppliedRule, 'cart discount')
  for (const a of arr(ctx.actions)) for (const r of arr(a.appliedRules)) add(r as unknown as AppliedRule, 'action')
  return [...hits.values()]
}

export interface RuleError {
  id: string
  where: string      // file:line, or the file when the line is not known
  hook?: string      // "price", "boost:search", "on:cart.add", "cart"...
  stage?: string     // the stage that called the rule
  message: string
  denied: boolean    // a veto that failed and so denied its action
  count: number      // times reported in the turn (once per call)
}

function parseRuleErrors(list: unknown): RuleError[] {
  if (!Array.isArray(list)) return []
  const out = new Map<string, RuleError>()
  for (const x of list) {
    if (!x || typeof x !== 'object') continue
    const e = x as RawRuleError
    const file = typeof e.file === 'string' ? e.file : '?'
    const line = typeof e.line === 'number' && e.line > 0 ? e.line : 0
    const r: RuleError = {
      id: typeof e.id === 'string' ? e.id : file,
      where: line ? `${file}:${line}` : file,
      hook: typeof e.hook === 'string' ? e.hook : undefined,
      stage: typeof e.stage === 'string' ? e.stage : undefined,
      message: String(e.message ?? e.error ?? 'failed'),
      denied: e.denied === true,
      count: 1,
    }
    const key = [r.id, r.where, r.stage, r.message, r.denied].join('\u0000')
    const had = out.get(key)
    if (had) had.count++
    else out.set(key, r)
  }
  return [...out.values()]
}

/* the rules that failed in a turn, from its full context
 * (ctx.vars.ruleErrors: [{id, file, line, hook, stage, message, error, denied}]) */
export function ruleErrors(ctx: Record<string, unknown>): RuleError[] {
  const vars = (ctx.vars ?? {}) as Record<string, unknown>
  return parseRuleErrors(vars.ruleErrors)
}

/* the rules that failed in a turn: from its summary (the server puts them
 * there) or, for a summary without them, from its full context */
export function turnRuleErrors(t: Turn, ctx?: Record<string, unknown>): RuleError[] {
  if (Array.isArray(t.ruleErrors)) return parseRuleErrors(t.ruleErrors)
  return ctx ? ruleErrors(ctx) : []
}

export type FallbackKind = 'llm' | 'rule' | 'veto' | 'stage' | 'timeout'

export interface Fallback {
  kind: FallbackKind
  stage?: string
  text: string       // what happened, for a person
  group: string      // what it counts under in the summary
}

/* what a turn did instead of its first choice: LLM fallbacks (the
 * built-in model or the template answered), rules that failed and were
 * skipped, vetoes that failed and so denied, stages that ended in an
 * error, and a turn that ran past its deadline */
export function fallbacks(t: Turn, ctx?: Record<string, unknown>): Fallback[] {
  const out: Fallback[] = []
  const raw = Array.isArray(t.fallbacks) ? t.fallbacks : Array.isArray(ctx?.fallbacks) ? (ctx.fallbacks as RawFallback[]) : []
  for (const f of raw) {
    if (!f || typeof f !== 'object') continue
    const stage = typeof f.stage === 'string' ? f.stage : undefined
    const kind = f.kind && f.kind !== 'llm' ? f.kind : 'LLM'
    out.push({
      kind: 'llm', stage, group: `${stage ?? '?'}: ${kind} fallback`,
      text: `${stage ?? '?'}: ${kind} fallback${f.reason ? ` (${f.reason})` : ''}`,
    })
  }
  // the classifier's LLM fallback is in the list above; an older summary
  // may carry it on the intent alone
  if (t.intent?.fallback && !raw.length) {
    const stage = (t.stages ?? []).find((s) => s.type === 'classifier')?.stage ?? 'intent'
    out.push({ kind: 'llm', stage, group: `${stage}: LLM fallback`, text: `${stage}: LLM fallback (${t.intent.fallback})` })
  }
  for (const e of turnRuleErrors(t, ctx)) {
    const at = e.stage ? `${e.stage}: ` : ''
    out.push(e.denied
      ? { kind: 'veto', stage: e.stage, group: `failed veto ${e.id}`, text: `${at}veto ${e.id} failed (${e.where}), so its action was denied` }
      : { kind: 'rule', stage: e.stage, group: `skipped rule ${e.id}`, text: `${at}skipped rule ${e.id} (${e.where})` })
  }
  for (const s of t.stages ?? [])
    if (s.result && !['ok', 'declined', 'done'].includes(s.result))
      out.push({ kind: 'stage', stage: s.stage, group: `${s.stage}: ${s.result}`, text: `${s.stage}: ${s.result}${s.note ? ` (${s.note})` : ''}` })
  if (t.timedOut) out.push({ kind: 'timeout', group: 'deadline exceeded', text: 'the turn ran past its deadline' })
  const seen = new Set<string>()
  return out.filter((f) => !seen.has(f.text) && !!seen.add(f.text))
}

/* a stage this slow is worth a look: the legend's top band */
export const SLOW_US = 100_000

export interface SlowStage {
  stage: string
  us: number
}

export function slowStages(t: TraceSummary, thresholdUs = SLOW_US): SlowStage[] {
  return (t.stages ?? []).filter((s) => s.us >= thresholdUs).map((s) => ({ stage: s.stage, us: s.us }))
}

/* everything that went wrong in one turn without failing it */
export interface TurnProblems {
  ruleErrors: RuleError[]
  fallbacks: Fallback[]
  slow: SlowStage[]
}

export function turnProblems(t: Turn, ctx?: Record<string, unknown>): TurnProblems {
  return { ruleErrors: turnRuleErrors(t, ctx), fallbacks: fallbacks(t, ctx), slow: slowStages(t) }
}

export const hasProblems = (p: TurnProblems) => p.ruleErrors.length + p.fallbacks.length + p.slow.length > 0

export interface StageProblems {
  ruleErrors: number
  fallbacks: number
  slow: number
}

export interface ProblemSummary {
  turns: number                 // turns looked at
  ruleErrors: { count: number; turns: number; byRule: (RuleError & { turns: number })[] }
  fallbacks: { count: number; turns: number; byGroup: { group: string; kind: FallbackKind; count: number }[] }
  slow: { count: number; turns: number; byStage: { stage: string; count: number; maxUs: number }[] }
  perStage: Map<string, StageProblems>
}

/* rule errors, fallbacks and slow stages over the newest lastN turns:
 * how many, in how many turns, and which rules, kinds and stages */
export function problemSummary(problems: TurnProblems[], lastN: number): ProblemSummary {
  const list = problems.slice(0, lastN)
  const rules = new Map<string, RuleError & { turns: number }>()
  const groups = new Map<string, { group: string; kind: FallbackKind; count: number }>()
  const slow = new Map<string, { stage: string; count: number; maxUs: number }>()
  const perStage = new Map<string, StageProblems>()
  const at = (stage: string | undefined) => {
    if (!stage) return undefined
    let s = perStage.get(stage)
    if (!s) perStage.set(stage, (s = { ruleErrors: 0, fallbacks: 0, slow: 0 }))
    return s
  }
  const sum: ProblemSummary = {
    turns: list.length,
    ruleErrors: { count: 0, turns: 0, byRule: [] },
    fallbacks: { count: 0, turns: 0, byGroup: [] },
    slow: { count: 0, turns: 0, byStage: [] },
    perStage,
  }
  for (const p of list) {
    if (p.ruleErrors.length) sum.ruleErrors.turns++
    for (const e of p.ruleErrors) {
      sum.ruleErrors.count++
      const key = `${e.id}\u0000${e.where}`
      const had = rules.get(key)
      if (had) had.turns++
      else rules.set(key, { ...e, turns: 1 })
      const s = at(e.stage)
      if (s) s.ruleErrors++
    }
    if (p.fallbacks.length) sum.fallbacks.turns++
    for (const f of p.fallbacks) {
      sum.fallbacks.count++
      const g = groups.get(f.group) ?? { group: f.group, kind: f.kind, count: 0 }
      g.count++
      groups.set(f.group, g)
      const s = at(f.stage)
      if (s) s.fallbacks++
    }
    if (p.slow.length) sum.slow.turns++
    for (const x of p.slow) {
      sum.slow.count++
      const g = slow.get(x.stage) ?? { stage: x.stage, count: 0, maxUs: 0 }
      g.count++
      g.maxUs = Math.max(g.maxUs, x.us)
      slow.set(x.stage, g)
      at(x.stage)!.slow++
    }
  }
  sum.ruleErrors.byRule = [...rules.values()].sort((a, b) => b.turns - a.turns || a.id.localeCompare(b.id))
  sum.fallbacks.byGroup = [...groups.values()].sort((a, b) => b.count - a.count || a.group.localeCompare(b.group))
  sum.slow.byStage = [...slow.values()].sort((a, b) => b.count - a.count || b.maxUs - a.maxUs)
  return sum
}
