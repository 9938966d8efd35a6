// The IVR flow definition as the dashboard edits it: the shape of src/modules/ivr/flow.ts (FlowDefinition),
// which the API validates (zod, then the graph rules) and answers 400 with the path of each problem.
export type NodeKind = 'say' | 'play' | 'menu' | 'dial' | 'voicemail' | 'hangup';
export interface FlowNode {
  kind: NodeKind;
  text?: string;
  voice?: string;
  language?: string;
  url?: string;
  next?: string;
  prompt?: { say: string; voice?: string; language?: string } | { play: string } | string;
  options?: Record<string, string>;
  retries?: number;
  timeoutSeconds?: number;
  timeout?: string;
  invalidText?: string;
  number?: string;
  agentUserId?: string;
  maxLengthSeconds?: number;
  transcribe?: boolean;
}
export interface FlowDefinition {
  start: string;
  nodes: Record<string, FlowNode>;
}

export const KINDS: { kind: NodeKind; label: string; help: string }[] = [
  { kind: 'say', label: 'Say', help: 'Speaks a text, then goes on.' },
  { kind: 'play', label: 'Play audio', help: 'Plays an audio file (https), then goes on.' },
  { kind: 'menu', label: 'Menu', help: 'Asks the caller to press a key.' },
  { kind: 'dial', label: 'Forward', help: 'Forwards the call to a number or an agent.' },
  { kind: 'voicemail', label: 'Voicemail', help: 'Records a message.' },
  { kind: 'hangup', label: 'Hang up', help: 'Ends the call.' },
];
export const kindLabel = (k: string) => KINDS.find((x) => x.kind === k)?.label ?? k;

export const NODE_ID = /^[A-Za-z0-9_-]{1,64}$/;

export function defaultNode(kind: NodeKind, keepNext?: string): FlowNode {
  switch (kind) {
    case 'say': return { kind, text: 'Thanks for calling.', ...(keepNext && { next: keepNext }) };
    case 'play': return { kind, url: 'https://', ...(keepNext && { next: keepNext }) };
    case 'menu': return { kind, prompt: { say: 'For sales press 1.' }, options: {}, retries: 3, timeoutSeconds: 5 };
    case 'dial': return { kind, number: '', timeoutSeconds: 20, ...(keepNext && { next: keepNext }) };
    case 'voicemail': return { kind, prompt: 'Please leave a message after the tone.', maxLengthSeconds: 120, transcribe: true, ...(keepNext && { next: keepNext }) };
    case 'hangup': return { kind, text: 'Goodbye.' };
  }
}

export const NEW_FLOW: FlowDefinition = {
  start: 'welcome',
  nodes: {
    welcome: { kind: 'say', text: 'Thanks for calling.', next: 'main' },
    main: { kind: 'menu', prompt: { say: 'To leave a message press 1. To hear this again press 9.' }, options: { '1': 'message', '9': 'main' }, retries: 2, timeoutSeconds: 5, timeout: 'message' },
    message: { kind: 'voicemail', prompt: 'Please leave a message after the tone.', maxLengthSeconds: 120, transcribe: true, next: 'bye' },
    bye: { kind: 'hangup', text: 'Goodbye.' },
  },
};

/** The nodes a node leads to, with the label of the way there (a key, "no answer"…). Mirrors edgesOf on the server. */
export function edgesOf(node: FlowNode): { to: string; label?: string; input: boolean }[] {
  switch (node.kind) {
    case 'menu':
      return [
        ...Object.entries(node.options ?? {}).map(([digit, to]) => ({ to, label: digit, input: true })),
        ...(node.timeout ? [{ to: node.timeout, label: 'no input', input: true }] : []),
      ];
    case 'hangup':
      return [];
    case 'dial':
      return node.next ? [{ to: node.next, label: 'no answer', input: false }] : [];
    default:
      return node.next ? [{ to: node.next, input: false }] : [];
  }
}

/** A one-line summary of what a node does, for the graph. */
export function summary(node: FlowNode): string {
  switch (node.kind) {
    case 'say': return node.text ?? '';
    case 'play': return node.url ?? '';
    case 'menu': return typeof node.prompt === 'object' ? ('say' in node.prompt ? node.prompt.say : node.prompt.play) : '';
    case 'dial': return node.number || (node.agentUserId ? 'an agent' : '');
    case 'voicemail': return typeof node.prompt === 'string' ? node.prompt : 'Records a message';
    case 'hangup': return node.text ?? '';
  }
}

/** The definition as the API takes it: empty optional fields left out. */
export function clean(def: FlowDefinition): FlowDefinition {
  const strip = (o: Record<string, unknown>): Record<string, unknown> =>
    Object.fromEntries(
      Object.entries(o)
        .filter(([, v]) => v !== undefined && v !== '' && !(typeof v === 'number' && Number.isNaN(v)))
        .map(([k, v]) => [k, v && typeof v === 'object' && !Array.isArray(v) ? strip(v as Record<string, unknown>) : v]),
    );
  return { start: def.start, nodes: Object.fromEntries(Object.entries(def.nodes).map(([id, n]) => [id, strip(n as unknown as Record<string, unknown>) as unknown as FlowNode])) };
}

/** Drops every reference to a node about to be removed. */
export function withoutNode(def: FlowDefinition, id: string): FlowDefinition {
  const nodes: Record<string, FlowNode> = {};
  for (const [k, n] of Object.entries(def.nodes)) {
    if (k === id) continue;
    const copy: FlowNode = { ...n };
    if (copy.next === id) delete copy.next;
    if (copy.timeout === id) delete copy.timeout;
    if (copy.options) copy.options = Object.fromEntries(Object.entries(copy.options).filter(([, to]) => to !== id));
    nodes[k] = copy;
  }
  return { start: def.start, nodes };
}

/** Validation problems of a save, by node id ("" for the flow itself), from the API's `details` paths. */
export function problemsByNode(details: Record<string, string>): Record<string, { field: string; message: string }[]> {
  const out: Record<string, { field: string; message: string }[]> = {};
  for (const [path, message] of Object.entries(details)) {
    const m = /^definition\.nodes\.([^.]+)(?:\.(.+))?$/.exec(path);
    const key = m ? m[1] : '';
    (out[key] ??= []).push({ field: m ? (m[2] ?? '') : path, message });
  }
  return out;
}

/** Node ids in the order a caller meets them (breadth first from the start), the others after in their own order. */
export function graphOrder(def: FlowDefinition): string[] {
  const seen = new Set<string>();
  const queue = def.nodes[def.start] ? [def.start] : [];
  for (const id of queue) seen.add(id);
  while (queue.length) {
    for (const e of edgesOf(def.nodes[queue.shift()!])) {
      if (def.nodes[e.to] && !seen.has(e.to)) {
        seen.add(e.to);
        queue.push(e.to);
      }
    }
  }
  return [...seen, ...Object.keys(def.nodes).filter((id) => !seen.has(id))];
}

/** A menu's keys as one line ("1 → message · 9 → main"): the graph cannot draw a key that leads back to its own menu. */
export const keysLine = (node: FlowNode) =>
  node.kind === 'menu' ? Object.entries(node.options ?? {}).map(([d, to]) => `${d} → ${to}`).join(' · ') : '';
