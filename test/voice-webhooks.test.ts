// Twilio voice end to end: requests signed with the SDK's own function, TwiML parsed as XML, a whole
// menu traversal, versions pinned, outbound calls through the real SDK to the Twilio-shaped server,
// forward-only status callbacks, and two organizations on every route.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXAMPLE_FLOW } from '../src/modules/ivr/flow.js';
import { INVALID_CHOICE, NOT_IN_SERVICE } from '../src/modules/ivr/runtime.js';
import { NO_FLOW } from '../src/modules/ivr/call-flow.js';
import { createCustomer, createTestApp, signUpWithOrg, type Actor, type TestApp } from './helpers.js';
import { connectTwilio, newTwilioAccount, startFakeTwilio, type FakeTwilio } from './twilio-support.js';
import { outline, postSigned, twimlOf } from './voice-support.js';

let t: TestApp;
let fake: FakeTwilio;
let a: Actor;
let b: Actor;
const accA = newTwilioAccount();
const accB = newTwilioAccount();
const NUMBER_A = '+14155550100';
const NUMBER_A2 = '+14155550101';
const NUMBER_B = '+14155550200';
let flowA: any;
let numberA: any;

const req = (method: string, path: string, who: { headers: Record<string, string> }, payload?: unknown) =>
  t.app.inject({ method: method as any, url: path, headers: who.headers, ...(payload !== undefined && { payload: payload as any }) });

async function ok(res: Promise<{ statusCode: number; body: string; json(): any }>, status = 200) {
  const r = await res;
  if (r.statusCode !== status) throw new Error(`expected ${status}, got ${r.statusCode} ${r.body}`);
  return r.json();
}

let sidSeq = 0;
const callSid = () => `CA${(++sidSeq).toString(16).padStart(32, '0')}`;

/** Twilio's request for a call from `from` to one of our numbers. */
function voice(path: string, token: string, params: Record<string, string>, signature?: string) {
  return postSigned(t.app, { publicUrl: t.config.publicUrl, path, authToken: token, params, signature });
}
const inbound = (to: string, from: string, sid: string, token: string, account: string) =>
  voice('/api/webhooks/voice/inbound', token, { AccountSid: account, CallSid: sid, From: from, To: to, CallStatus: 'ringing', Direction: 'inbound' });

/** The action URL of the last verb of a TwiML answer (Gather, Dial, Record): Twilio's next callback. */
function actionOf(twiml: string) {
  const verbs = twimlOf(twiml);
  const action = verbs[verbs.length - 1].attrs.action;
  expect(action, 'the last verb waits on a callback').toBeTruthy();
  return action.slice(t.config.publicUrl.length);
}

const status = (sid: string, s: string, token: string, account: string, extra: Record<string, string> = {}) =>
  voice('/api/webhooks/voice/status', token, { AccountSid: account, CallSid: sid, CallStatus: s, To: NUMBER_A, From: '+14155550195', ...extra });

const callRows = async (org: string) => t.db.owner.query<{ id: string; status: string; provider_call_id: string; ivr_flow_version: number }>(`SELECT * FROM calls WHERE organization_id = $1`, [org]);

beforeAll(async () => {
  fake = await startFakeTwilio({ accounts: { [accA.accountSid]: accA.authToken, [accB.accountSid]: accB.authToken } });
  t = await createTestApp({ config: { twilio: { apiBaseUrl: fake.url } } });
  a = await signUpWithOrg(t.app, 'voice-a');
  b = await signUpWithOrg(t.app, 'voice-b');
  [numberA] = await connectTwilio(t.app, a.headers, fake, accA, [NUMBER_A, NUMBER_A2]);
  await connectTwilio(t.app, b.headers, fake, accB, [NUMBER_B]);
  flowA = await ok(req('POST', '/api/ivr/flows', a, { name: 'Main line', definition: EXAMPLE_FLOW }), 201);
  await ok(req('PATCH', `/api/phone-numbers/${numberA.id}`, a, { ivrFlowId: flowA.id }));
});
afterAll(async () => {
  await t?.close();
  await fake?.close();
});

describe('inbound calls through an IVR flow', () => {
  it('the flow shows the number bound to it', async () => {
    const f = await ok(req('GET', `/api/ivr/flows/${flowA.id}`, a));
    expect(f.phoneNumbers).toEqual([{ id: numberA.id, number: NUMBER_A }]);
    // A bound flow cannot be deleted: the number would go silent.
    const del = await req('DELETE', `/api/ivr/flows/${flowA.id}`, a);
    expect(del.statusCode).toBe(409);
    expect(del.json().details.phoneNumbers).toEqual([{ id: numberA.id, number: NUMBER_A }]);
  });

  it('a whole traversal: greeting and menu, a wrong key replays, silence replays, then the timeout branch records a voicemail; each step is on the call', async () => {
    const customer = await createCustomer(t.app, a.headers, { phone: '+1 415 555 0177', firstName: 'Caller' });
    const sid = callSid();
    const first = await inbound(NUMBER_A, '+14155550177', sid, accA.authToken, accA.accountSid);
    expect(first.statusCode).toBe(200);
    expect(first.headers['content-type']).toMatch(/^text\/xml/);
    expect(outline(twimlOf(first.body))).toEqual(['Say:Thanks for calling Acme.', expect.stringMatching(/^Gather\[Say:For sales press 1/)]);
    const call = (await callRows(a.organizationId)).find((c) => c.provider_call_id === sid)!;
    expect(call).toMatchObject({ status: 'ringing', ivr_flow_version: 1 });
    let action = actionOf(first.body);
    expect(action).toBe(`/api/webhooks/voice/gather?call=${call.id}&node=main`);

    const wrong = await voice(action, accA.authToken, { AccountSid: accA.accountSid, CallSid: sid, To: NUMBER_A, From: '+14155550177', Digits: '7' });
    expect(outline(twimlOf(wrong.body))).toEqual([`Say:${INVALID_CHOICE}`, expect.stringMatching(/^Gather\[/)]);
    action = actionOf(wrong.body);
    const silent = await voice(action, accA.authToken, { AccountSid: accA.accountSid, CallSid: sid, To: NUMBER_A, From: '+14155550177' });
    expect(outline(twimlOf(silent.body))).toEqual([expect.stringMatching(/^Gather\[/)]);
    // retries: 2 — the third miss takes the timeout branch (voicemail, transcribed).
    const out = await voice(actionOf(silent.body), accA.authToken, { AccountSid: accA.accountSid, CallSid: sid, To: NUMBER_A, From: '+14155550177', Digits: '5' });
    expect(outline(twimlOf(out.body))).toEqual(['Say:Please leave a message after the tone.', 'Record']);
    const record = twimlOf(out.body)[1];
    expect(record.attrs).toMatchObject({ maxLength: '120', transcribe: 'true', transcribeCallback: `${t.config.publicUrl}/api/webhooks/voice/recording?call=${call.id}` });

    const recUrl = 'https://api.twilio.com/2010-04-01/Accounts/AC/Recordings/RE1';
    const bye = await voice(actionOf(out.body), accA.authToken, { AccountSid: accA.accountSid, CallSid: sid, To: NUMBER_A, RecordingUrl: recUrl, RecordingDuration: '14' });
    expect(outline(twimlOf(bye.body))).toEqual(['Say:Goodbye.', 'Hangup']);
    const text = await voice(`/api/webhooks/voice/recording?call=${call.id}`, accA.authToken, {
      AccountSid: accA.accountSid, CallSid: sid, To: NUMBER_A, TranscriptionText: 'Please call me back about my order.', TranscriptionStatus: 'completed', RecordingUrl: recUrl,
    });
    expect(text.statusCode).toBe(200);

    const detail = await ok(req('GET', `/api/call-center/calls/${call.id}`, a));
    expect(detail).toMatchObject({
      direction: 'inbound', from: '+14155550177', to: NUMBER_A, customerId: customer.id, ivrFlowId: flowA.id, ivrFlowVersion: 1,
      recordingUrl: recUrl, recordingDurationSeconds: 14, transcription: 'Please call me back about my order.',
    });
    expect(detail.steps.map((s: any) => `${s.nodeId}:${s.kind}${s.digits ? `:${s.digits}` : ''}`)).toEqual([
      'welcome:say', 'main:menu', 'main:invalid:7', 'main:menu', 'main:no_input', 'main:menu', 'main:invalid:5', 'main:timeout',
      'message:voicemail', 'message:recorded', 'bye:hangup', 'null:transcription',
    ]);
    expect(detail.steps.map((s: any) => s.seq)).toEqual(detail.steps.map((_: any, i: number) => i + 1));
  });

  it('a key leads to its node: 1 dials sales, no answer falls through to voicemail; 2 goes straight to voicemail', async () => {
    const sid = callSid();
    const first = await inbound(NUMBER_A, '+14155550178', sid, accA.authToken, accA.accountSid);
    const dial = await voice(actionOf(first.body), accA.authToken, { AccountSid: accA.accountSid, CallSid: sid, To: NUMBER_A, Digits: '1' });
    const [verb] = twimlOf(dial.body);
    expect(verb).toMatchObject({ name: 'Dial', text: '+14155550123', attrs: { callerId: NUMBER_A, timeout: '20' } });
    const noAnswer = await voice(actionOf(dial.body), accA.authToken, { AccountSid: accA.accountSid, CallSid: sid, To: NUMBER_A, DialCallStatus: 'no-answer' });
    expect(outline(twimlOf(noAnswer.body))).toEqual(['Say:Please leave a message after the tone.', 'Record']);

    const sid2 = callSid();
    const second = await inbound(NUMBER_A, '+14155550178', sid2, accA.authToken, accA.accountSid);
    const vm = await voice(actionOf(second.body), accA.authToken, { AccountSid: accA.accountSid, CallSid: sid2, To: NUMBER_A, Digits: '2' });
    expect(outline(twimlOf(vm.body))).toEqual(['Say:Please leave a message after the tone.', 'Record']);
  });

  it('a call in progress keeps the version it started on when the flow is edited; new calls get the new one', async () => {
    const sid = callSid();
    const first = await inbound(NUMBER_A, '+14155550179', sid, accA.authToken, accA.accountSid);
    const edited = structuredClone(EXAMPLE_FLOW) as any;
    edited.nodes.sales = { kind: 'hangup', text: 'Sales is closed today.' };
    const put = await ok(req('PUT', `/api/ivr/flows/${flowA.id}`, a, { name: 'Main line', definition: edited }));
    expect(put.version).toBe(2);
    const old = await voice(actionOf(first.body), accA.authToken, { AccountSid: accA.accountSid, CallSid: sid, To: NUMBER_A, Digits: '1' });
    expect(twimlOf(old.body)[0].name).toBe('Dial');

    const sid2 = callSid();
    const fresh = await inbound(NUMBER_A, '+14155550179', sid2, accA.authToken, accA.accountSid);
    const now = await voice(actionOf(fresh.body), accA.authToken, { AccountSid: accA.accountSid, CallSid: sid2, To: NUMBER_A, Digits: '1' });
    expect(outline(twimlOf(now.body))).toEqual(['Say:Sales is closed today.', 'Hangup']);
    const rows = await callRows(a.organizationId);
    expect(rows.find((c) => c.provider_call_id === sid)!.ivr_flow_version).toBe(1);
    expect(rows.find((c) => c.provider_call_id === sid2)!.ivr_flow_version).toBe(2);
  });

  it('Twilio retrying the inbound webhook does not make a second call; it hears where the call is', async () => {
    const sid = callSid();
    await inbound(NUMBER_A, '+14155550180', sid, accA.authToken, accA.accountSid);
    const again = await inbound(NUMBER_A, '+14155550180', sid, accA.authToken, accA.accountSid);
    expect(outline(twimlOf(again.body))).toEqual([expect.stringMatching(/^Gather\[/)]);
    expect((await callRows(a.organizationId)).filter((c) => c.provider_call_id === sid)).toHaveLength(1);
  });

  it('an unknown number hears a polite hang-up (200) and nothing is written; a number with no flow hears that nobody can answer', async () => {
    const before = await t.db.owner.query(`SELECT count(*)::int AS n FROM calls`);
    const unknown = await inbound('+14155550999', '+14155550181', callSid(), accA.authToken, accA.accountSid);
    expect(unknown.statusCode).toBe(200);
    expect(outline(twimlOf(unknown.body))).toEqual([`Say:${NOT_IN_SERVICE}`, 'Hangup']);
    expect(await t.db.owner.query(`SELECT count(*)::int AS n FROM calls`)).toEqual(before);

    const unbound = await inbound(NUMBER_A2, '+14155550181', callSid(), accA.authToken, accA.accountSid);
    expect(outline(twimlOf(unbound.body))).toEqual([`Say:${NO_FLOW}`, 'Hangup']);
  });

  it('a bad or missing signature is a 401 and writes nothing', async () => {
    const before = await callRows(a.organizationId);
    const params = { AccountSid: accA.accountSid, CallSid: callSid(), From: '+14155550182', To: NUMBER_A, CallStatus: 'ringing' };
    expect((await voice('/api/webhooks/voice/inbound', accA.authToken, params, 'x'.repeat(27) + '=')).statusCode).toBe(401);
    const noSig = await t.app.inject({ method: 'POST', url: '/api/webhooks/voice/inbound', headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: new URLSearchParams(params).toString() });
    expect(noSig.statusCode).toBe(401);
    // Signed over another URL than the one called (a replay to another path).
    const elsewhere = await postSigned(t.app, { publicUrl: 'https://elsewhere.example', path: '/api/webhooks/voice/inbound', authToken: accA.authToken, params });
    expect(elsewhere.statusCode).toBe(401);
    expect(await callRows(a.organizationId)).toEqual(before);
  });
});

describe('two organizations', () => {
  it("A's number signed with B's token is a 401; B's number never reaches A's flow", async () => {
    const before = await callRows(a.organizationId);
    const forged = await inbound(NUMBER_A, '+14155550190', callSid(), accB.authToken, accA.accountSid);
    expect(forged.statusCode).toBe(401);
    expect(await callRows(a.organizationId)).toEqual(before);

    const toB = await inbound(NUMBER_B, '+14155550190', callSid(), accB.authToken, accB.accountSid);
    expect(outline(twimlOf(toB.body))).toEqual([`Say:${NO_FLOW}`, 'Hangup']);
    expect(await callRows(a.organizationId)).toEqual(before);
    expect((await callRows(b.organizationId)).length).toBe(1);
  });

  it("A's call cannot be driven through B's number, and A's call and flow are 404 for B", async () => {
    const sid = callSid();
    const first = await inbound(NUMBER_A, '+14155550191', sid, accA.authToken, accA.accountSid);
    const action = actionOf(first.body);
    const via = await voice(action, accB.authToken, { AccountSid: accB.accountSid, CallSid: sid, To: NUMBER_B, Digits: '1' });
    expect(outline(twimlOf(via.body))).toEqual([`Say:${NO_FLOW}`, 'Hangup']);
    const callId = new URL(`http://x${action}`).searchParams.get('call')!;
    const detail = await ok(req('GET', `/api/call-center/calls/${callId}`, a));
    expect(detail.steps.map((s: any) => s.kind)).toEqual(['say', 'menu']);
    // A transcription for A's call, signed by B through B's number, finds no such call in B.
    const rec = await voice(`/api/webhooks/voice/recording?call=${callId}`, accB.authToken, { AccountSid: accB.accountSid, CallSid: sid, To: NUMBER_B, TranscriptionText: 'B was here', TranscriptionStatus: 'completed' });
    expect(rec.statusCode).toBe(200);
    expect((await ok(req('GET', `/api/call-center/calls/${callId}`, a))).transcription).toBeNull();
    expect((await req('GET', `/api/call-center/calls/${callId}`, b)).statusCode).toBe(404);
    expect((await req('GET', `/api/ivr/flows/${flowA.id}`, b)).statusCode).toBe(404);
    // B cannot bind A's flow to its own number.
    const bNumber = (await ok(req('GET', '/api/phone-numbers', b))).data[0];
    expect((await req('PATCH', `/api/phone-numbers/${bNumber.id}`, b, { ivrFlowId: flowA.id })).statusCode).toBeGreaterThanOrEqual(400);
  });
});

describe('call status callbacks', () => {
  it('move forward only: out of order and repeated callbacks change nothing; duration and recording are kept', async () => {
    const sid = callSid();
    await inbound(NUMBER_A, '+14155550195', sid, accA.authToken, accA.accountSid);
    const row = async () => (await ok(req('GET', `/api/call-center/calls/${(await callRows(a.organizationId)).find((c) => c.provider_call_id === sid)!.id}`, a)));
    expect((await status(sid, 'in-progress', accA.authToken, accA.accountSid)).json()).toMatchObject({ applied: 1 });
    expect((await row()).answeredAt).not.toBeNull();
    const done = await status(sid, 'completed', accA.authToken, accA.accountSid, { CallDuration: '73', RecordingUrl: 'https://api.twilio.com/rec/RE2', RecordingDuration: '70' });
    expect(done.json()).toMatchObject({ applied: 1 });
    // Late and repeated ones.
    expect((await status(sid, 'ringing', accA.authToken, accA.accountSid)).json()).toMatchObject({ applied: 0 });
    expect((await status(sid, 'completed', accA.authToken, accA.accountSid, { CallDuration: '999' })).json()).toMatchObject({ applied: 0, duplicates: 1 });
    expect((await status(sid, 'failed', accA.authToken, accA.accountSid)).json()).toMatchObject({ applied: 0 });
    expect(await row()).toMatchObject({ status: 'completed', durationSeconds: 73, recordingUrl: 'https://api.twilio.com/rec/RE2', recordingDurationSeconds: 70 });
    expect((await row()).endedAt).not.toBeNull();
  });

  it("A's status callback signed with B's token is a 401 and changes nothing; B's account cannot reach A's call", async () => {
    const sid = callSid();
    await inbound(NUMBER_A, '+14155550196', sid, accA.authToken, accA.accountSid);
    const before = await callRows(a.organizationId);
    expect((await status(sid, 'completed', accB.authToken, accA.accountSid)).statusCode).toBe(401);
    // Signed by B for B's account: B has no such call; A's stays as it was.
    const res = await status(sid, 'completed', accB.authToken, accB.accountSid);
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ applied: 0 });
    expect(await callRows(a.organizationId)).toEqual(before);
  });
});

describe('outbound calls', () => {
  it("ring the agent's phone first through the real SDK, then bridge to the customer; status callbacks follow the call", async () => {
    const customer = await createCustomer(t.app, a.headers, { phone: '+14155550161', firstName: 'Dee' });
    await ok(req('PUT', `/api/call-center/agents/${a.userId}`, a, { phoneNumber: '+14155550142' }));
    const res = await req('POST', '/api/call-center/calls', a, { mode: 'outbound', customerId: customer.id });
    expect(res.statusCode).toBe(202);
    const call = res.json();
    expect(call).toMatchObject({ direction: 'outbound', from: NUMBER_A, to: '+14155550161', customerId: customer.id, agentUserId: a.userId, agentNumber: '+14155550142', status: 'initiated' });
    expect(call.providerCallId).toMatch(/^CA[0-9a-f]{32}$/);

    const [sent] = fake.requestsTo('/Calls.json', 'POST').slice(-1);
    expect(sent.authAccount).toBe(accA.accountSid);
    expect(sent.form).toMatchObject({ To: '+14155550142', From: NUMBER_A, StatusCallback: `${t.config.publicUrl}/api/webhooks/voice/status` });
    expect(sent.form.StatusCallbackEvent).toEqual(['initiated', 'ringing', 'answered', 'completed']);
    const [dial] = twimlOf(String(sent.form.Twiml));
    expect(dial).toMatchObject({ name: 'Dial', text: '+14155550161', attrs: { callerId: NUMBER_A } });

    for (const s of ['ringing', 'in-progress', 'completed']) {
      const r = await status(call.providerCallId, s, accA.authToken, accA.accountSid, s === 'completed' ? { CallDuration: '42' } : {});
      expect(r.json(), s).toMatchObject({ applied: 1 });
    }
    expect(await ok(req('GET', `/api/call-center/calls/${call.id}`, a))).toMatchObject({ status: 'completed', durationSeconds: 42 });
  });

  it('without an agent phone, a number or a valid customer phone it is a 400; a number Twilio refuses keeps the call as failed', async () => {
    const org = await signUpWithOrg(t.app, 'voice-out');
    const noPhone = await req('POST', '/api/call-center/calls', org, { mode: 'outbound', to: '+14155550162' });
    expect(noPhone.json()).toMatchObject({ code: 'validation_failed', details: [{ path: 'agentNumber' }] });
    const noNumber = await req('POST', '/api/call-center/calls', org, { mode: 'outbound', to: '+14155550162', agentNumber: '+14155550143' });
    expect(noNumber.statusCode).toBe(409);
    expect((await req('POST', '/api/call-center/calls', a, { mode: 'outbound', to: '+14155550162', customerId: org.userId })).statusCode).toBe(400);

    fake.failTo('+14155550144', { code: 21215, status: 400, message: 'Geographic permission' });
    const refused = await req('POST', '/api/call-center/calls', a, { mode: 'outbound', to: '+14155550163', agentNumber: '+14155550144' });
    expect(refused.statusCode).toBe(400);
    const failedId = refused.json().details.callId;
    expect(await ok(req('GET', `/api/call-center/calls/${failedId}`, a))).toMatchObject({ status: 'failed', errorCode: '21215', providerCallId: null });
  });

  it('without a Twilio account the call goes to the development outbox', async () => {
    const org = await signUpWithOrg(t.app, 'voice-dev');
    await ok(req('POST', '/api/phone-numbers', org, { number: '+14155550300' }), 201);
    const res = await req('POST', '/api/call-center/calls', org, { mode: 'outbound', to: '+14155550164', agentNumber: '+14155550145' });
    expect(res.statusCode).toBe(202);
    const outbox = await ok(req('GET', '/api/twilio/outbox', org));
    expect(JSON.stringify(outbox)).toContain(res.json().providerCallId);
  });
});

describe('dial nodes that name an agent', () => {
  it("forward the caller to the agent's phone, showing the called number; an agent without a phone is skipped", async () => {
    const NUMBER_A3 = '+14155550102';
    fake.addNumber(accA.accountSid, NUMBER_A3);
    const number = await ok(req('POST', '/api/phone-numbers', a, { number: NUMBER_A3 }), 201);
    const flow = await ok(req('POST', '/api/ivr/flows', a, {
      name: 'Agent line',
      definition: {
        start: 'm',
        nodes: {
          m: { kind: 'menu', prompt: { say: 'Press 1 for Ada.' }, options: { '1': 'ada' } },
          ada: { kind: 'dial', agentUserId: a.userId, next: 'sorry' },
          sorry: { kind: 'hangup', text: 'Ada is not available.' },
        },
      },
    }), 201);
    await ok(req('PATCH', `/api/phone-numbers/${number.id}`, a, { ivrFlowId: flow.id }));
    await ok(req('PUT', `/api/call-center/agents/${a.userId}`, a, { phoneNumber: '+14155550146' }));
    const sid = callSid();
    const first = await inbound(NUMBER_A3, '+14155550197', sid, accA.authToken, accA.accountSid);
    const dial = await voice(actionOf(first.body), accA.authToken, { AccountSid: accA.accountSid, CallSid: sid, To: NUMBER_A3, Digits: '1' });
    expect(twimlOf(dial.body)[0]).toMatchObject({ name: 'Dial', text: '+14155550146', attrs: { callerId: NUMBER_A3 } });

    expect((await req('DELETE', `/api/call-center/agents/${a.userId}`, a)).statusCode).toBe(204);
    const sid2 = callSid();
    const again = await inbound(NUMBER_A3, '+14155550197', sid2, accA.authToken, accA.accountSid);
    const skipped = await voice(actionOf(again.body), accA.authToken, { AccountSid: accA.accountSid, CallSid: sid2, To: NUMBER_A3, Digits: '1' });
    expect(outline(twimlOf(skipped.body))).toEqual(['Say:Ada is not available.', 'Hangup']);
  });

  it("an outbound call from a number that is not the organization's is a 400", async () => {
    const res = await req('POST', '/api/call-center/calls', a, { mode: 'outbound', to: '+14155550165', agentNumber: '+14155550147', from: NUMBER_B });
    expect(res.json()).toMatchObject({ code: 'validation_failed', details: [{ path: 'from' }] });
  });
});
