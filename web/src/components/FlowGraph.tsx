// The IVR flow drawn as a graph (@xyflow/react). Loaded lazily by the flow editor only, so its weight
// (and its stylesheet) stays off every other page.
import { Background, Controls, Handle, MarkerType, Position, ReactFlow, type Edge, type Node, type NodeProps } from '@xyflow/react';
import '@xyflow/react/dist/style.css';
import { useMemo } from 'react';
import { edgesOf, keysLine, kindLabel, summary, type FlowDefinition } from '../pages/ivr/flow';

type Data = { id: string; kind: string; text: string; keys: string; start: boolean; error: boolean; selected: boolean };

function FlowNodeView({ data }: NodeProps<Node<Data>>) {
  return (
    <div className={`flow-node${data.start ? ' is-start' : ''}${data.error ? ' has-error' : ''}${data.selected ? ' is-selected' : ''}`}>
      <Handle type="target" position={Position.Top} />
      <div className="flow-node-kind">{data.start ? 'Start · ' : ''}{kindLabel(data.kind)}{data.error ? ' · problem' : ''}</div>
      <div className="flow-node-id">{data.id}</div>
      {data.text && <div className="flow-node-text">{data.text}</div>}
      {data.keys && <div className="flow-node-keys">{data.keys}</div>}
      <Handle type="source" position={Position.Bottom} />
    </div>
  );
}
const nodeTypes = { flow: FlowNodeView };

/** Layers from the start node (breadth first); nodes not reachable go in a last row. */
function layout(def: FlowDefinition) {
  const depth = new Map<string, number>();
  if (def.nodes[def.start]) depth.set(def.start, 0);
  const queue = def.nodes[def.start] ? [def.start] : [];
  while (queue.length) {
    const id = queue.shift()!;
    for (const e of edgesOf(def.nodes[id])) {
      if (def.nodes[e.to] && !depth.has(e.to)) {
        depth.set(e.to, depth.get(id)! + 1);
        queue.push(e.to);
      }
    }
  }
  const last = Math.max(-1, ...depth.values()) + 1;
  for (const id of Object.keys(def.nodes)) if (!depth.has(id)) depth.set(id, last);
  const rows = new Map<number, string[]>();
  for (const [id, d] of depth) rows.set(d, [...(rows.get(d) ?? []), id]);
  const pos = new Map<string, { x: number; y: number }>();
  for (const [d, ids] of rows) ids.forEach((id, i) => pos.set(id, { x: (i - (ids.length - 1) / 2) * 230, y: d * 130 }));
  return pos;
}

export default function FlowGraph({ definition, problems, selected, onSelect }: { definition: FlowDefinition; problems: Set<string>; selected: string | null; onSelect: (id: string) => void }) {
  const { nodes, edges } = useMemo(() => {
    const pos = layout(definition);
    const nodes: Node<Data>[] = Object.entries(definition.nodes).map(([id, n]) => ({
      id,
      type: 'flow',
      position: pos.get(id)!,
      data: { id, kind: n.kind, text: summary(n), keys: keysLine(n), start: id === definition.start, error: problems.has(id), selected: id === selected },
      ariaLabel: `${kindLabel(n.kind)} node ${id}`,
    }));
    // One line per pair of nodes (keys 1 and "no input" both leading to voicemail share it); none back into itself.
    const edges: Edge[] = Object.entries(definition.nodes).flatMap(([id, n]) => {
      const byTarget = new Map<string, { labels: string[]; input: boolean }>();
      for (const e of edgesOf(n)) {
        if (!definition.nodes[e.to] || e.to === id) continue;
        const t = byTarget.get(e.to) ?? { labels: [], input: false };
        if (e.label) t.labels.push(e.label);
        t.input ||= e.input;
        byTarget.set(e.to, t);
      }
      return [...byTarget].map(([to, t]) => ({
        id: `${id}->${to}`,
        source: id,
        target: to,
        label: t.labels.join(', ') || undefined,
        markerEnd: { type: MarkerType.ArrowClosed },
        style: t.input ? undefined : { strokeDasharray: '5 4' },
      }));
    });
    return { nodes, edges };
  }, [definition, problems, selected]);
  return (
    <div className="flow-graph" role="figure" aria-label="The flow as a graph (each node is also a form on this page)">
      <ReactFlow
        nodes={nodes}
        edges={edges}
        nodeTypes={nodeTypes}
        fitView
        fitViewOptions={{ padding: 0.2 }}
        nodesConnectable={false}
        onNodeClick={(_, n) => onSelect(n.id)}
        // Keyboard: Tab to a node, Enter selects it, and its form takes the focus.
        onKeyDown={(e) => {
          const id = (e.target as HTMLElement).closest('.react-flow__node')?.getAttribute('data-id');
          if (id && e.key === 'Enter') onSelect(id);
        }}
        proOptions={{ hideAttribution: false }}
        minZoom={0.2}
      >
        <Background gap={20} />
        <Controls showInteractive={false} />
      </ReactFlow>
    </div>
  );
}
