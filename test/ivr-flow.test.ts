// The IVR flow model and its pure runtime: graph validation, and a whole menu traversal read back as parsed TwiML.
import { describe, expect, it } from 'vitest';
import { checkFlowGraph, EXAMPLE_FLOW, FlowDefinition } from '../src/modules/ivr/flow.js';
import { GOODBYE, INVALID_CHOICE, politeHangup, step, type CallState, type StepContext } from '../src/modules/ivr/runtime.js';
import { outline, twimlOf } from './voice-support.js';

const parse = (def: unknown) => FlowDefinition.parse(def);
const issues = (def: unknown) => checkFlowGraph(parse(def));
const ctx: StepContext = {
  actionUrl: (node) => `https://sb.example/api/webhooks/voice/gather?call=c1&node=${node}`,
  transcribeCallbackUrl: () => 'https://sb.example/api/webhooks/voice/recording?call=c1',
  agentPhones: { '7c9e6679-7425-40de-944b-e07fc1f90ae7': '+14155550111' },
  callerId: '+14155550100',
};

describe('flow validation', () => {
  it('accepts the example flow', () => {
    expect(issues(EXAMPLE_FLOW)).toEqual([]);
  });

  it('names dangling references by their path', () => {
    const found = issues({ start: 'a', nodes: { a: { kind: 'say', text: 'Hi', next: 'nowhere' } } });
    expect(found).toEqual([{ path: 'nodes.a.next', message: 'Node "nowhere" does not exist' }]);
    expect(issues({ start: 'zz', nodes: { a: { kind: 'hangup' } } })[0].path).toBe('start');
    const menu = issues({ start: 'm', nodes: { m: { kind: 'menu', prompt: { say: 'Press 1' }, options: { '1': 'gone' } } } });
    expect(menu[0].path).toBe('nodes.m.options.1');
  });

  it('refuses nodes the start cannot reach', () => {
    const found = issues({ start: 'a', nodes: { a: { kind: 'hangup' }, orphan: { kind: 'say', text: 'never heard' } } });
    expect(found).toEqual([{ path: 'nodes.orphan', message: expect.stringContaining('cannot be reached') }]);
  });

  it('refuses a menu with no way out', () => {
    const trap = {
      start: 'm1',
      nodes: {
        m1: { kind: 'menu', prompt: { say: 'One' }, options: { '1': 'm2' }, timeout: 'm2' },
        m2: { kind: 'menu', prompt: { say: 'Two' }, options: { '1': 'm1' }, timeout: 'm1' },
      },
    };
    expect(issues(trap).map((i) => i.path).sort()).toEqual(['nodes.m1', 'nodes.m2']);
    // Without a timeout branch the menu ends the call politely once its retries are used: a way out.
    const open = { ...trap, nodes: { ...trap.nodes, m2: { kind: 'menu', prompt: { say: 'Two' }, options: { '1': 'm1' } } } };
    expect(issues(open)).toEqual([]);
  });

  it('refuses a loop without input, and allows one through a menu', () => {
    const loop = issues({
      start: 'a',
      nodes: { a: { kind: 'say', text: 'A', next: 'b' }, b: { kind: 'play', url: 'https://cdn.example/b.mp3', next: 'a' } },
    });
    expect(loop).toHaveLength(1);
    expect(loop[0].message).toMatch(/Loop without input: .*a.*b/);
    expect(loop[0].path).toMatch(/^nodes\.(a|b)\.next$/);
    const throughMenu = issues({
      start: 'a',
      nodes: {
        a: { kind: 'say', text: 'A', next: 'm' },
        m: { kind: 'menu', prompt: { say: 'Again?' }, options: { '1': 'a', '2': 'end' } },
        end: { kind: 'hangup' },
      },
    });
    expect(throughMenu).toEqual([]);
  });

  it('checks the node shapes: E.164 dial numbers, https audio, one target per dial, at most 200 nodes', () => {
    const bad = FlowDefinition.safeParse({
      start: 'd',
      nodes: {
        d: { kind: 'dial', number: '555-0100' },
        p: { kind: 'play', url: 'http://insecure.example/a.mp3' },
        both: { kind: 'dial', number: '+14155550123', agentUserId: '7c9e6679-7425-40de-944b-e07fc1f90ae7' },
        x: { kind: 'say', text: 'hi', extra: true },
      },
    });
    expect(bad.success).toBe(false);
    const paths = bad.error!.issues.map((i) => i.path.join('.'));
    expect(paths).toEqual(expect.arrayContaining(['nodes.d.number', 'nodes.p.url', 'nodes.both.number', 'nodes.x']));
    // Numbers are stored as E.164.
    expect(parse({ start: 'd', nodes: { d: { kind: 'dial', number: '+1 (415) 555-0123' } } }).nodes.d).toMatchObject({ number: '+14155550123' });
    const big = Object.fromEntries(Array.from({ length: 201 }, (_, i) => [`n${i}`, { kind: 'hangup' }]));
    expect(FlowDefinition.safeParse({ start: 'n0', nodes: big }).success).toBe(false);
  });
});

describe('runtime: a whole menu traversal', () => {
  const flow = parse(EXAMPLE_FLOW);

  it('answers with the greeting and the menu, then replays on a wrong key, then takes the timeout branch when the retries run out', () => {
    const first = step(flow, null, { event: 'start' }, ctx);
    expect(outline(twimlOf(first.twiml))).toEqual([
      'Say:Thanks for calling Acme.',
      'Gather[Say:For sales press 1. To leave a message press 2. To hear this again press 9.]',
    ]);
    const [say, gather] = twimlOf(first.twiml);
    expect(say.attrs).toEqual({ voice: 'Polly.Joanna', language: 'en-US' });
    expect(gather.attrs).toMatchObject({ numDigits: '1', timeout: '5', action: ctx.actionUrl('main'), actionOnEmptyResult: 'true' });
    expect(first.state).toEqual({ node: 'main', retries: 0 });
    expect(first.steps.map((s) => `${s.nodeId}:${s.kind}`)).toEqual(['welcome:say', 'main:menu']);

    // retries: 2 → the menu is played twice more, then the timeout branch (voicemail).
    let state: CallState | null = first.state;
    for (const [digits, kind] of [['7', 'invalid'], ['', 'no_input']] as const) {
      const again = step(flow, state, { event: 'gather', digits }, ctx);
      const verbs = outline(twimlOf(again.twiml));
      expect(verbs[verbs.length - 1]).toMatch(/^Gather\[/);
      if (kind === 'invalid') expect(verbs[0]).toBe(`Say:${INVALID_CHOICE}`);
      expect(again.steps[0]).toMatchObject({ nodeId: 'main', kind, digits: digits || null });
      state = again.state;
    }
    expect(state).toEqual({ node: 'main', retries: 2 });
    const out = step(flow, state, { event: 'gather', digits: '8' }, ctx);
    expect(outline(twimlOf(out.twiml))).toEqual(['Say:Please leave a message after the tone.', 'Record']);
    const record = twimlOf(out.twiml)[1];
    expect(record.attrs).toMatchObject({ action: ctx.actionUrl('message'), maxLength: '120', transcribe: 'true', transcribeCallback: 'https://sb.example/api/webhooks/voice/recording?call=c1' });
    expect(out.steps.map((s) => s.kind)).toEqual(['invalid', 'timeout', 'voicemail']);
    expect(out.state).toEqual({ node: 'message', retries: 0 });

    const after = step(flow, out.state, { event: 'record', recordingUrl: 'https://api.twilio.com/rec/RE1', durationSeconds: 12 }, ctx);
    expect(outline(twimlOf(after.twiml))).toEqual(['Say:Goodbye.', 'Hangup']);
    expect(after.state).toBeNull();
  });

  it('a key leads to its node: 1 dials (with the no-answer action), no answer falls through to voicemail', () => {
    const dial = step(flow, { node: 'main', retries: 1 }, { event: 'gather', digits: '1' }, ctx);
    const [verb] = twimlOf(dial.twiml);
    expect(verb.name).toBe('Dial');
    expect(verb.text).toBe('+14155550123');
    expect(verb.attrs).toMatchObject({ action: ctx.actionUrl('sales'), timeout: '20', callerId: '+14155550100' });
    expect(dial.state).toEqual({ node: 'sales', retries: 0 });
    const noAnswer = step(flow, dial.state, { event: 'dial', status: 'no-answer' }, ctx);
    expect(outline(twimlOf(noAnswer.twiml))).toEqual(['Say:Please leave a message after the tone.', 'Record']);
    const answered = step(flow, dial.state, { event: 'dial', status: 'completed' }, ctx);
    expect(outline(twimlOf(answered.twiml))).toEqual(['Hangup']);
    expect(answered.state).toBeNull();
  });

  it('dials an agent by user id through their phone; a menu without a timeout branch says goodbye; hang-up nodes end the call', () => {
    const agentFlow = parse({
      start: 'm',
      nodes: {
        m: { kind: 'menu', prompt: { play: 'https://cdn.example/menu.mp3' }, options: { '1': 'agent', '0': 'bye' }, retries: 0 },
        agent: { kind: 'dial', agentUserId: '7c9e6679-7425-40de-944b-e07fc1f90ae7' },
        bye: { kind: 'hangup', text: 'Bye now.' },
      },
    });
    expect(checkFlowGraph(agentFlow)).toEqual([]);
    const start = step(agentFlow, null, { event: 'start' }, ctx);
    expect(outline(twimlOf(start.twiml))).toEqual(['Gather[Play:https://cdn.example/menu.mp3]']);
    expect(twimlOf(step(agentFlow, start.state, { event: 'gather', digits: '1' }, ctx).twiml)[0].text).toBe('+14155550111');
    expect(outline(twimlOf(step(agentFlow, start.state, { event: 'gather', digits: '0' }, ctx).twiml))).toEqual(['Say:Bye now.', 'Hangup']);
    expect(outline(twimlOf(step(agentFlow, start.state, { event: 'gather', digits: null }, ctx).twiml))).toEqual([`Say:${GOODBYE}`, 'Hangup']);
  });

  it('an unknown number hears a polite hang-up', () => {
    expect(outline(twimlOf(politeHangup()))).toEqual([expect.stringMatching(/^Say:Sorry, .*not in service/), 'Hangup']);
  });
});
