// The loaded pipeline as a graph: dagre lays it out, React Flow draws it;
// each stage is coloured by its average latency over the last N turns and
// outlined in red where rules failed or fallbacks were taken in them.
import { useMemo } from 'react'
import { Background, Controls, ReactFlow, MarkerType, type Edge, type Node } from '@xyflow/react'
import '@xyflow/react/dist/style.css'
import dagre from '@dagrejs/dagre'
import type { PipelineInfo } from '../api/types'
import { band, ms, type StageProblems, type StageStat } from './metrics'
import { plural } from '../words'

const W = 170, H = 58

export function layout(graph: NonNullable<PipelineInfo['graph']>, stats: Map<string, StageStat>, lastRoute?: Set<string>,
  problems?: Map<string, StageProblems>) {
  const g = new dagre.graphlib.Graph()
  g.setGraph({ rankdir: 'TB', nodesep: 24, ranksep: 44 })
  g.setDefaultEdgeLabel(() => ({}))
  const ids = new Set(graph.stages.map((s) => s.id))
  const hasEnd = graph.edges.some((e) => e.to === 'end')
  for (const s of graph.stages) g.setNode(s.id, { width: W, height: H })
  if (hasEnd) g.setNode('end', { width: 80, height: 36 })
  for (const e of graph.edges) if (ids.has(e.from) && (ids.has(e.to) || e.to === 'end')) g.setEdge(e.from, e.to)
  dagre.layout(g)

  const nodes: Node[] = graph.stages.map((s) => {
    const p = g.node(s.id)
    const st = stats.get(s.id)
    const b = band(st?.avgUs)
    const pr = problems?.get(s.id)
    const trouble = pr ? [pr.ruleErrors && `${pr.ruleErrors} rule ${pr.ruleErrors === 1 ? 'error' : 'errors'}`,
      pr.fallbacks && `${pr.fallbacks} ${pr.fallbacks === 1 ? 'fallback' : 'fallbacks'}`, pr.slow && `${pr.slow} slow`].filter(Boolean).join(', ') : ''
    return {
      id: s.id,
      position: { x: p.x - W / 2, y: p.y - H / 2 },
      // the size given, so React Flow draws the node at once: nodes are
      // new objects whenever a turn changes the stats, and a node left to
      // be measured again stayed hidden on a busy shop
      width: W,
      height: H,
      data: {
        label: (
          <div className="text-left leading-tight" data-testid={`stage-${s.id}`} data-band={b.label} data-problems={trouble || undefined} title={trouble || undefined}>
            <div className="font-semibold">{s.id} <span className="font-normal opacity-70">{s.type}</span></div>
            <div className="text-[11px]">{st ? `avg ${ms(st.avgUs)} · p95 ${ms(st.p95Us)} · ${st.count}×` : 'not run yet'}</div>
          </div>
        ),
      },
      style: {
        width: W, height: H, background: b.fill, color: b.text, fontSize: 12, padding: 6, borderRadius: 8,
        border: trouble ? '3px solid #be123c' : lastRoute?.has(s.id) ? '2px solid #0f766e' : '1px solid #94a3b8',
      },
      ariaLabel: `Stage ${s.id} (${s.type}): ${st ? `average ${ms(st.avgUs)} over ${plural(st.count, 'turn')}` : 'not run yet'}${trouble ? `; ${trouble}` : ''}`,
      draggable: false,
      connectable: false,
    }
  })
  if (hasEnd) {
    const p = g.node('end')
    nodes.push({
      id: 'end', position: { x: p.x - 40, y: p.y - 18 }, width: 80, height: 36, data: { label: 'end' }, draggable: false,
      style: { width: 80, height: 36, fontSize: 12, borderRadius: 18, background: '#e2e8f0', border: '1px solid #94a3b8', padding: 6 },
    })
  }
  const edges: Edge[] = graph.edges
    .filter((e) => ids.has(e.from) && (ids.has(e.to) || e.to === 'end'))
    .map((e, i) => ({
      id: `e${i}-${e.from}-${e.to}`,
      source: e.from,
      target: e.to,
      type: 'smoothstep',
      animated: e.kind === 'route' && !!lastRoute?.has(e.to) && !!lastRoute?.has(e.from),
      style: e.kind === 'route' ? { strokeDasharray: '5 4', stroke: '#64748b' } : { stroke: '#334155' },
      markerEnd: { type: MarkerType.ArrowClosed },
    }))
  return { nodes, edges }
}

export function PipelineGraph({ info, stats, lastRoute, problems }: {
  info: PipelineInfo; stats: Map<string, StageStat>; lastRoute?: Set<string>; problems?: Map<string, StageProblems>
}) {
  const { nodes, edges } = useMemo(
    () => (info.graph ? layout(info.graph, stats, lastRoute, problems) : { nodes: [], edges: [] }),
    [info.graph, stats, lastRoute, problems],
  )
  if (!info.graph) return <p className="p-4">No pipeline is loaded.</p>
  return (
    <div className="h-[30rem] w-full rounded-md border border-slate-200 bg-white md:h-[42rem]" data-testid="pipeline-graph">
      <ReactFlow nodes={nodes} edges={edges} fitView nodesDraggable={false} nodesConnectable={false} minZoom={0.2}>
        <Background gap={16} />
        <Controls showInteractive={false} />
      </ReactFlow>
    </div>
  )
}
