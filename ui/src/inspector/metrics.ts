// What the inspector computes from turn traces: per-stage latency over
// the last N turns, the colour for a latency, the fallbacks of a turn,
// the rule ids that changed prices in a turn's context, and the rules
// that failed in it.
import type { AppliedRule, TraceSummary } from '../api/types'

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

/* why a turn did not take its first choice: classifier or formatter
 * fallbacks, and stages that did not end "ok" */
export function fallbacks(t: TraceSummary, ctx?: Record<string, unknown>): string[] {
  const out: string[] = []
  if (t.intent?.fallback) out.push(`intent: ${t.intent.fallback}`)
  for (const s of t.stages ?? [])
    if (s.result && !['ok', 'declined', 'done'].includes(s.result)) out.push(`${s.stage}: ${s.result}${s.note ? ` (${s.note})` : ''}`)
  const fb = ctx?.fallbacks
  if (Array.isArray(fb))
    for (const f of fb) {
      const o = f as Record<string, unknown>
      out.push(`${o.stage ?? 'llm'}: ${o.reason ?? o.why ?? JSON.stringify(o)}`)
    }
  const reply = ctx?.reply as Record<string, unknown> | undefined
  if (reply && typeof reply.fallback === 'string') out.push(`reply: ${reply.fallback}`)
  return [...new Set(out)]
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
  message: string
  denied: boolean    // a veto that failed and so denied its action
}

/* the rules that failed in a turn, from its full context
 * (ctx.vars.ruleErrors: [{id, file, line, hook, message, error, denied}]) */
export function ruleErrors(ctx: Record<string, unknown>): RuleError[] {
  const vars = (ctx.vars ?? {}) as Record<string, unknown>
  const list = Array.isArray(vars.ruleErrors) ? (vars.ruleErrors as Record<string, unknown>[]) : []
  return list.filter((e) => e && typeof e === 'object').map((e) => {
    const file = typeof e.file === 'string' ? e.file : '?'
    const line = typeof e.line === 'number' && e.line > 0 ? e.line : 0
    return {
      id: typeof e.id === 'string' ? e.id : file,
      where: line ? `${file}:${line}` : file,
      hook: typeof e.hook === 'string' ? e.hook : undefined,
      message: String(e.message ?? e.error ?? 'failed'),
      denied: e.denied === true,
    }
  })
}
