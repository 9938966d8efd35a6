import { z } from 'zod';
import { E164 } from '../../lib/phone.js';

export { E164 };

// An IVR flow is a graph of nodes keyed by id, entered at `start`. The shape is checked by zod;
// the graph (references, reachability, ways out, loops without input) by `checkFlowGraph`.

export const MAX_NODES = 200;
export const DEFAULT_MENU_RETRIES = 3;
export const DEFAULT_MENU_TIMEOUT_SECONDS = 5;

const NodeId = z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'A node id is 1–64 letters, digits, "-" or "_"');
const Text = z.string().trim().min(1).max(1000);
/** Twilio's voice names: "alice", "man", "Polly.Joanna", "Google.en-US-Standard-C"… */
const Voice = z.string().regex(/^[A-Za-z0-9._-]{1,64}$/, 'Not a voice name');
/** A BCP 47 tag as Twilio takes it: "en-US", "fr-FR", "pt-BR". */
const Language = z.string().regex(/^[a-z]{2,3}(-[A-Za-z0-9]{2,8}){0,2}$/, 'Not a language tag (en-US)');
const AudioUrl = z.url({ protocol: /^https$/ }).max(2000);
const Say = z.strictObject({
  kind: z.literal('say'),
  text: Text,
  voice: Voice.optional(),
  language: Language.optional(),
  /** Omitted: the call ends after this node. */
  next: NodeId.optional(),
});
const Play = z.strictObject({ kind: z.literal('play'), url: AudioUrl, next: NodeId.optional() });
const Prompt = z.union([
  z.strictObject({ say: Text, voice: Voice.optional(), language: Language.optional() }),
  z.strictObject({ play: AudioUrl }),
]);
const Digit = z.string().regex(/^[0-9*#]$/, 'An option is one key: 0–9, * or #');
const Menu = z.strictObject({
  kind: z.literal('menu'),
  prompt: Prompt,
  options: z.record(Digit, NodeId).refine((o) => Object.keys(o).length > 0, 'A menu needs at least one option'),
  /** How many times the menu is played again after no input or a key that is not an option. */
  retries: z.number().int().min(0).max(10).default(DEFAULT_MENU_RETRIES),
  timeoutSeconds: z.number().int().min(1).max(60).default(DEFAULT_MENU_TIMEOUT_SECONDS),
  /** Where the caller goes once the retries are used up; omitted: a polite goodbye and hang-up. */
  timeout: NodeId.optional(),
  /** Said before the menu is played again after a key that is not an option. */
  invalidText: Text.optional(),
});
const Dial = z
  .strictObject({
    kind: z.literal('dial'),
    number: E164.optional(),
    agentUserId: z.uuid().optional(),
    timeoutSeconds: z.number().int().min(5).max(120).default(20),
    /** Where the caller goes when nobody answers (busy, no answer, failed); omitted: hang up. */
    next: NodeId.optional(),
  })
  .refine((d) => Boolean(d.number) !== Boolean(d.agentUserId), { message: 'A dial node forwards to either a number or an agentUserId', path: ['number'] });
const Voicemail = z.strictObject({
  kind: z.literal('voicemail'),
  prompt: Text.optional(),
  maxLengthSeconds: z.number().int().min(1).max(600).default(120),
  transcribe: z.boolean().default(false),
  next: NodeId.optional(),
});
const Hangup = z.strictObject({ kind: z.literal('hangup'), text: Text.optional() });

export const FlowNode = z.discriminatedUnion('kind', [Say, Play, Menu, Dial, Voicemail, Hangup]);
export type FlowNode = z.infer<typeof FlowNode>;
export type MenuNode = z.infer<typeof Menu>;
export type DialNode = z.infer<typeof Dial>;
export type VoicemailNode = z.infer<typeof Voicemail>;

export const FlowDefinition = z.strictObject({
  start: NodeId,
  nodes: z
    .record(NodeId, FlowNode)
    .refine((n) => Object.keys(n).length <= MAX_NODES, `A flow has at most ${MAX_NODES} nodes`)
    .refine((n) => Object.keys(n).length > 0, 'A flow needs at least one node'),
});
export type FlowDefinition = z.infer<typeof FlowDefinition>;

export const EXAMPLE_FLOW = {
  start: 'welcome',
  nodes: {
    welcome: { kind: 'say', text: 'Thanks for calling Acme.', voice: 'Polly.Joanna', language: 'en-US', next: 'main' },
    main: {
      kind: 'menu',
      prompt: { say: 'For sales press 1. To leave a message press 2. To hear this again press 9.' },
      options: { '1': 'sales', '2': 'message', '9': 'main' },
      retries: 2,
      timeoutSeconds: 5,
      timeout: 'message',
    },
    sales: { kind: 'dial', number: '+14155550123', timeoutSeconds: 20, next: 'message' },
    message: { kind: 'voicemail', prompt: 'Please leave a message after the tone.', maxLengthSeconds: 120, transcribe: true, next: 'bye' },
    bye: { kind: 'hangup', text: 'Goodbye.' },
  },
} as const;

/** The nodes a node leads to, each with the field that names it and whether the caller's keys choose it. */
export function edgesOf(node: FlowNode): { field: string; to: string; input: boolean }[] {
  switch (node.kind) {
    case 'menu':
      return [
        ...Object.entries(node.options).map(([digit, to]) => ({ field: `options.${digit}`, to, input: true })),
        ...(node.timeout ? [{ field: 'timeout', to: node.timeout, input: true }] : []),
      ];
    case 'hangup':
      return [];
    default:
      return node.next ? [{ field: 'next', to: node.next, input: false }] : [];
  }
}

/** Whether the call can end at this node (a hang-up, or a node with nowhere further to go). */
const ends = (node: FlowNode) => {
  if (node.kind === 'hangup') return true;
  return node.kind === 'menu' ? !node.timeout : !node.next;
};

export interface FlowIssue {
  path: string;
  message: string;
}

/**
 * The graph rules a saved flow obeys, each issue with the path of the offending field:
 * every reference names a node, every node is reachable from the start, every menu has a way out
 * (from it the caller can reach an end without being trapped), and no cycle runs without a menu on it
 * (the call would loop with no input forever).
 */
export function checkFlowGraph(flow: FlowDefinition): FlowIssue[] {
  const issues: FlowIssue[] = [];
  const ids = Object.keys(flow.nodes);
  if (!flow.nodes[flow.start]) issues.push({ path: 'start', message: `The start node "${flow.start}" does not exist` });
  for (const id of ids) {
    for (const e of edgesOf(flow.nodes[id])) {
      if (!flow.nodes[e.to]) issues.push({ path: `nodes.${id}.${e.field}`, message: `Node "${e.to}" does not exist` });
    }
  }
  if (issues.length) return issues;

  const reached = new Set<string>([flow.start]);
  const queue = [flow.start];
  while (queue.length) {
    for (const e of edgesOf(flow.nodes[queue.shift()!])) if (!reached.has(e.to)) reached.add(e.to), queue.push(e.to);
  }
  for (const id of ids) if (!reached.has(id)) issues.push({ path: `nodes.${id}`, message: `Node "${id}" cannot be reached from the start node` });

  // Nodes from which an end can be reached: walk the edges backwards from every ending node.
  const into = new Map<string, string[]>();
  for (const id of ids) for (const e of edgesOf(flow.nodes[id])) into.set(e.to, [...(into.get(e.to) ?? []), id]);
  const canEnd = new Set(ids.filter((id) => ends(flow.nodes[id])));
  const back = [...canEnd];
  while (back.length) for (const from of into.get(back.pop()!) ?? []) if (!canEnd.has(from)) canEnd.add(from), back.push(from);
  for (const id of ids) {
    if (flow.nodes[id].kind === 'menu' && reached.has(id) && !canEnd.has(id)) {
      issues.push({ path: `nodes.${id}`, message: `Menu "${id}" has no way out: no choice and no timeout branch ever leads to the end of the call` });
    }
  }

  // A cycle through nodes that take no input (say, play, dial, voicemail): depth-first over those nodes only.
  const state = new Map<string, 'open' | 'done'>();
  const reported = new Set<string>();
  const visit = (id: string, path: string[]) => {
    state.set(id, 'open');
    for (const e of edgesOf(flow.nodes[id])) {
      if (e.input || flow.nodes[e.to].kind === 'menu') continue;
      if (state.get(e.to) === 'open') {
        const cycle = [...path.slice(path.indexOf(e.to)), id].filter((v, i, a) => a.indexOf(v) === i);
        const key = [...cycle].sort().join(',');
        if (!reported.has(key)) {
          reported.add(key);
          issues.push({ path: `nodes.${id}.${e.field}`, message: `Loop without input: ${[...cycle, e.to].join(' → ')} repeats with no menu on it` });
        }
      } else if (!state.has(e.to)) visit(e.to, [...path, id]);
    }
    state.set(id, 'done');
  };
  for (const id of ids) if (flow.nodes[id].kind !== 'menu' && !state.has(id)) visit(id, []);
  return issues;
}

/** The agents a flow dials by user id (their phones are looked up when a call walks the flow). */
export const agentsOf = (flow: FlowDefinition) =>
  [...new Set(Object.values(flow.nodes).flatMap((n) => (n.kind === 'dial' && n.agentUserId ? [n.agentUserId] : [])))];
