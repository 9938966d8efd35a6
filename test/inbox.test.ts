// The conversations inbox, agent side and channels: inboxes, conversations from the widget, SMS (Twilio's
// SDK signs the inbound webhook; replies go to the local Twilio stand-in) and email (Inbound Parse in,
// replies to a real SMTP sink with threading headers); assignment, labels, notes, canned responses,
// snooze wake-up by the job worker, business-hours auto-reply, CSAT and its analytics events.
import { existsSync } from 'node:fs';
import { sql } from 'drizzle-orm';
import { defaultWidgetFile } from '../src/modules/inbox/assets.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { query } from '../src/db/sql.js';
import { addMember, createCustomer, createTestApp, signUpWithOrg, testConfig, type Actor, type TestApp } from './helpers.js';
import { startSmtpSink, waitFor, type SmtpSink } from './email-support.js';
import { createInbox, widgetVisitor } from './inbox-support.js';
import { newEffects } from '../src/modules/inbox/index.js';
import { postAgentMessage } from '../src/modules/inbox/service.js';
import { connectTwilio, newTwilioAccount, signedTwilioRequest, startFakeTwilio, type FakeTwilio } from './twilio-support.js';

let t: TestApp;
let fake: FakeTwilio;
let smtp: SmtpSink;
let a: Actor;
let member: Actor;
let inbox: Awaited<ReturnType<typeof createInbox>>;
const acc = newTwilioAccount();
const NUM = '+14155550177';
const CUSTOMER_PHONE = '+14155556789';
const PUBLIC_URL = 'https://inbox.example.org';

beforeAll(async () => {
  fake = await startFakeTwilio({ accounts: { [acc.accountSid]: acc.authToken } });
  smtp = await startSmtpSink();
  const base = testConfig();
  t = await createTestApp({
    config: {
      publicUrl: PUBLIC_URL,
      twilio: { ...base.twilio, apiBaseUrl: fake.url },
      email: { ...base.email, smtpUrl: smtp.url, from: 'support@switchboard.test' },
      inbox: { ...base.inbox, replyDomain: 'reply.switchboard.test' },
      jobs: { inProcess: true, pollMs: 100 },
    },
  });
  a = await signUpWithOrg(t.app, 'inbox-a');
  member = await addMember(t.app, a, 'member', 'inbox-agent');
  await connectTwilio(t.app, a.headers, fake, acc, [NUM]);
  inbox = await createInbox(t.app, a.headers, { name: 'Website', greeting: 'Hi there' });
});
afterAll(async () => {
  await t?.close();
  await fake?.close();
  await smtp?.close();
});

const api = async (method: string, url: string, headers: Record<string, string>, payload?: unknown) => {
  const res = await t.app.inject({ method: method as any, url, headers, ...(payload !== undefined && { payload: payload as any }) });
  return { status: res.statusCode, body: res.body ? (() => { try { return res.json(); } catch { return res.body; } })() : null };
};

async function webConversation(text = 'Hello, where is my order?') {
  const v = await widgetVisitor(t.app, inbox.siteToken, { name: 'Visitor' });
  const res = await api('POST', '/api/widget/conversations', v.headers, { body: text });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return { visitor: v, id: res.body.conversation.id as string };
}

const inboundSms = (from: string, body: string, sid = `SM${Math.random().toString(16).slice(2).padEnd(32, '0').slice(0, 32)}`) =>
  signedTwilioRequest(t, acc.authToken, '/api/webhooks/sms/inbound', { AccountSid: acc.accountSid, MessageSid: sid, From: from, To: NUM, Body: body, NumMedia: '0' });

async function multipart(fields: Record<string, string>) {
  const fd = new FormData();
  for (const [k, v] of Object.entries(fields)) fd.set(k, v);
  const r = new Request('http://x/', { method: 'POST', body: fd });
  return { payload: Buffer.from(await r.arrayBuffer()), contentType: r.headers.get('content-type')! };
}
async function inboundEmail(url: string, fields: Record<string, string>) {
  const { payload, contentType } = await multipart(fields);
  const res = await t.app.inject({ method: 'POST', url: new URL(url).pathname, headers: { 'content-type': contentType }, payload });
  return { status: res.statusCode, body: res.json() };
}

const analyticsNames = async (org: string) =>
  (await t.db.withTenant(org, (tx) => query<{ name: string; properties: any }>(tx, sql`select name, properties from analytics_events where organization_id = ${org} order by occurred_at`)));

describe('inboxes', () => {
  it('gives admins the identity secret and Inbound Parse URL, members neither; a site token names the organization', async () => {
    expect(inbox.siteToken.startsWith(`${a.organizationId}.`)).toBe(true);
    expect(inbox.identitySecret).toMatch(/^[0-9a-f]{64}$/);
    expect(inbox.emailInboundUrl).toMatch(new RegExp(`^${PUBLIC_URL}/api/chat/inbound/email/${a.organizationId}\\.`));
    const asMember = await api('GET', `/api/chat/inboxes/${inbox.id}`, member.headers);
    expect(asMember.status).toBe(200);
    expect(asMember.body.identitySecret).toBeNull();
    expect(asMember.body.emailInboundUrl).toBeNull();
    expect((await api('POST', '/api/chat/inboxes', member.headers, { name: 'Nope' })).status).toBe(403);
  });

  it('rotating the site token stops the old one at once', async () => {
    const other = await createInbox(t.app, a.headers, { name: 'Rotating' });
    expect((await api('POST', '/api/widget/session', { 'x-site-token': other.siteToken }, { siteToken: other.siteToken })).status).toBe(200);
    const rotated = await api('POST', `/api/chat/inboxes/${other.id}/rotate-token`, a.headers);
    expect(rotated.body.siteToken).not.toBe(other.siteToken);
    const old = await api('POST', '/api/widget/session', { 'x-site-token': other.siteToken }, { siteToken: other.siteToken });
    expect(old.status).toBe(401);
    expect((await api('DELETE', `/api/chat/inboxes/${other.id}`, a.headers)).status).toBe(204);
  });
});

describe('widget bundle and demo page', () => {
  it('serves /widget.js when built (JavaScript, cached, any site may load it), a JSON 404 otherwise', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/widget.js' });
    if (existsSync(defaultWidgetFile)) {
      expect(res.statusCode).toBe(200);
      expect(res.headers['content-type']).toMatch(/^text\/javascript/);
      expect(res.headers['cache-control']).toMatch(/max-age=86400/);
      expect(res.headers['cross-origin-resource-policy']).toBe('cross-origin');
      const again = await t.app.inject({ method: 'GET', url: '/widget.js', headers: { 'if-none-match': String(res.headers.etag) } });
      expect(again.statusCode).toBe(304);
    } else {
      expect(res.statusCode).toBe(404);
      expect(res.json()).toMatchObject({ code: 'not_found' });
    }
  });

  it('the demo page embeds the widget with the token, under a policy that allows only our script', async () => {
    const res = await t.app.inject({ method: 'GET', url: `/widget/demo?token=${encodeURIComponent(inbox.siteToken)}` });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/html/);
    expect(res.body).toContain(`<script src="/widget.js" data-site-token="${inbox.siteToken}" async></script>`);
    const csp = String(res.headers['content-security-policy']);
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("connect-src 'self'");
    expect(csp).not.toMatch(/script-src[^;]*unsafe/);
    const hostile = await t.app.inject({ method: 'GET', url: `/widget/demo?token=${encodeURIComponent('"><script>alert(1)</script>')}` });
    expect(hostile.body).not.toContain('<script>alert(1)');
  });

  it('the visitor cookie is SameSite=None; Secure when the public URL is https', async () => {
    const v = await widgetVisitor(t.app, inbox.siteToken);
    expect(String(v.setCookie)).toMatch(/SameSite=None/i);
    expect(String(v.setCookie)).toMatch(/Secure/);
    expect(String(v.setCookie)).toMatch(/HttpOnly/i);
  });
});

describe('agent flows', () => {
  it('a widget conversation reaches the inbox; the reply reaches the visitor, a private note never does', async () => {
    const { visitor, id } = await webConversation();
    const list = await api('GET', '/api/chat/conversations?status=open&channel=web', a.headers);
    const conv = list.body.data.find((c: any) => c.id === id);
    expect(conv).toMatchObject({ channel: 'web', status: 'open', inboxId: inbox.id, visitorName: 'Visitor', lastMessagePreview: 'Hello, where is my order?', unread: 1 });

    const reply = await api('POST', `/api/chat/conversations/${id}/messages`, member.headers, { body: 'It ships tomorrow.' });
    expect(reply.status).toBe(201);
    expect(reply.body).toMatchObject({ direction: 'outbound', private: false, authorType: 'agent', author: { id: member.userId }, deliveryStatus: null });
    const note = await api('POST', `/api/chat/conversations/${id}/messages`, member.headers, { body: 'Customer seems upset; refund if asked', private: true });
    expect(note.body.private).toBe(true);

    const agentView = await api('GET', `/api/chat/conversations/${id}/messages`, a.headers);
    expect(agentView.body.data.map((m: any) => m.body)).toEqual(['Hello, where is my order?', 'It ships tomorrow.', 'Customer seems upset; refund if asked']);
    const widgetView = await api('GET', `/api/widget/conversations/${id}/messages`, visitor.headers);
    expect(widgetView.body.data.map((m: any) => m.body)).toEqual(['Hello, where is my order?', 'It ships tomorrow.']);
    expect(JSON.stringify(widgetView.body)).not.toContain('refund');
    expect((await api('GET', `/api/chat/conversations/${id}`, a.headers)).body.unread).toBe(0);
  });

  it('labels, manual assignment, team and filters', async () => {
    const { id } = await webConversation('Billing question');
    const team = await api('POST', '/api/chat/teams', a.headers, { name: 'Billing', memberIds: [member.userId] });
    expect(team.status).toBe(201);
    const patched = await api('PATCH', `/api/chat/conversations/${id}`, a.headers, { labels: ['billing', 'vip', 'billing'], assigneeId: member.userId, teamId: team.body.id, status: 'pending' });
    expect(patched.status).toBe(200);
    expect(patched.body).toMatchObject({ labels: ['billing', 'vip'], assignee: { id: member.userId, email: member.email }, teamId: team.body.id, status: 'pending' });
    for (const q of ['label=vip', `assigneeId=${member.userId}`, `teamId=${team.body.id}`, 'status=pending']) {
      const l = await api('GET', `/api/chat/conversations?${q}`, a.headers);
      expect(l.body.data.map((c: any) => c.id), q).toContain(id);
    }
    expect((await api('GET', '/api/chat/conversations?label=nothing-here', a.headers)).body.data).toEqual([]);
    // "Unassigned" is filtered by the server, so a page of it is full and its cursor continues it.
    const other = await webConversation('Nobody has this one');
    const unassigned = await api('GET', '/api/chat/conversations?status=open&assigned=false&limit=100', a.headers);
    expect(unassigned.body.data.map((c: any) => c.id)).toContain(other.id);
    expect(unassigned.body.data.every((c: any) => c.assignee === null)).toBe(true);
    const assigned = await api('GET', '/api/chat/conversations?status=pending&assigned=true&limit=100', a.headers);
    expect(assigned.body.data.map((c: any) => c.id)).toContain(id);
    expect(assigned.body.data.map((c: any) => c.id)).not.toContain(other.id);
    expect((await api('GET', '/api/chat/conversations?assigned=maybe', a.headers)).status).toBe(400);
    // Someone who is not a member cannot be assigned.
    const stranger = await signUpWithOrg(t.app, 'stranger');
    const bad = await api('PATCH', `/api/chat/conversations/${id}`, a.headers, { assigneeId: stranger.userId });
    expect(bad.status).toBe(400);
    expect((await api('PATCH', `/api/chat/conversations/${id}`, a.headers, { labels: ['a,b'] })).status).toBe(400);
  });

  it('round robin goes to the available agent assigned least recently, within the team when there is one', async () => {
    const picks: string[] = [];
    for (let i = 0; i < 4; i++) {
      const { id } = await webConversation(`rr ${i}`);
      const r = await api('POST', `/api/chat/conversations/${id}/assign`, a.headers, { strategy: 'round-robin' });
      expect(r.status).toBe(200);
      picks.push(r.body.assignee.id);
    }
    expect(new Set(picks)).toEqual(new Set([a.userId, member.userId]));
    expect(picks[0]).not.toBe(picks[1]);
    expect(picks[2]).toBe(picks[0]);
    expect(picks[3]).toBe(picks[1]);

    // The member goes away: everything goes to the owner.
    const away = await api('PUT', '/api/chat/agents/me', member.headers, { available: false });
    expect(away.body).toMatchObject({ id: member.userId, available: false });
    expect((await api('GET', '/api/chat/agents', a.headers)).body.data.find((x: any) => x.id === member.userId).available).toBe(false);
    for (let i = 0; i < 2; i++) {
      const { id } = await webConversation(`away ${i}`);
      expect((await api('POST', `/api/chat/conversations/${id}/assign`, a.headers, { strategy: 'round-robin' })).body.assignee.id).toBe(a.userId);
    }
    // A team of only the (unavailable) member: nobody to take it.
    const team = await api('POST', '/api/chat/teams', a.headers, { name: 'Night shift', memberIds: [member.userId] });
    const { id } = await webConversation('team');
    await api('PATCH', `/api/chat/conversations/${id}`, a.headers, { teamId: team.body.id });
    expect((await api('POST', `/api/chat/conversations/${id}/assign`, a.headers, { strategy: 'round-robin' })).status).toBe(409);
    await api('PUT', '/api/chat/agents/me', member.headers, { available: true });
    expect((await api('POST', `/api/chat/conversations/${id}/assign`, a.headers, { strategy: 'round-robin' })).body.assignee.id).toBe(member.userId);
  });

  it('canned responses by unique shortcut', async () => {
    const c = await api('POST', '/api/chat/canned-responses', member.headers, { shortcut: 'thanks', body: 'Thanks for your patience!' });
    expect(c.status).toBe(201);
    expect((await api('POST', '/api/chat/canned-responses', member.headers, { shortcut: 'thanks', body: 'again' })).status).toBe(409);
    const p = await api('PATCH', `/api/chat/canned-responses/${c.body.id}`, member.headers, { body: 'Thank you!' });
    expect(p.body).toMatchObject({ shortcut: 'thanks', body: 'Thank you!' });
    expect((await api('GET', '/api/chat/canned-responses', member.headers)).body.data.map((x: any) => x.shortcut)).toContain('thanks');
    expect((await api('DELETE', `/api/chat/canned-responses/${c.body.id}`, member.headers)).status).toBe(204);
  });

  it('a snoozed conversation opens again at its time (the job worker)', async () => {
    const { id } = await webConversation('Snooze me');
    expect((await api('PATCH', `/api/chat/conversations/${id}`, a.headers, { status: 'snoozed' })).status).toBe(400);
    const until = new Date(Date.now() + 1200).toISOString();
    const s = await api('PATCH', `/api/chat/conversations/${id}`, a.headers, { status: 'snoozed', snoozedUntil: until });
    expect(s.body).toMatchObject({ status: 'snoozed', snoozedUntil: until });
    expect((await api('GET', `/api/chat/conversations/${id}`, a.headers)).body.status).toBe('snoozed');
    const woke = await waitFor(async () => {
      const c = (await api('GET', `/api/chat/conversations/${id}`, a.headers)).body;
      return c.status === 'open' ? c : null;
    }, 15_000, 100);
    expect(woke.snoozedUntil).toBeNull();
  });
});

describe('business hours and CSAT', () => {
  it('outside business hours a new conversation gets the automatic reply once; inside, none', async () => {
    const closed = await createInbox(t.app, a.headers, { name: 'Closed', businessHours: { timezone: 'Europe/Paris', days: {} }, outOfHoursReply: 'We are closed; we answer tomorrow from 9:00.' });
    const v = await widgetVisitor(t.app, closed.siteToken);
    expect(v.session.inbox.online).toBe(false);
    const c = await api('POST', '/api/widget/conversations', v.headers, { body: 'Anyone there?' });
    await api('POST', `/api/widget/conversations/${c.body.conversation.id}/messages`, v.headers, { body: 'Hello?' });
    const msgs = (await api('GET', `/api/widget/conversations/${c.body.conversation.id}/messages`, v.headers)).body.data;
    expect(msgs.map((m: any) => [m.authorType, m.body])).toEqual([
      ['customer', 'Anyone there?'],
      ['system', 'We are closed; we answer tomorrow from 9:00.'],
      ['customer', 'Hello?'],
    ]);

    const all = { start: '00:00', end: '24:00' };
    const open = await createInbox(t.app, a.headers, {
      name: 'Always open',
      businessHours: { timezone: 'America/New_York', days: { mon: [all], tue: [all], wed: [all], thu: [all], fri: [all], sat: [all], sun: [all] } },
      outOfHoursReply: 'Closed',
    });
    const v2 = await widgetVisitor(t.app, open.siteToken);
    expect(v2.session.inbox.online).toBe(true);
    const c2 = await api('POST', '/api/widget/conversations', v2.headers, { body: 'Hi' });
    expect((await api('GET', `/api/widget/conversations/${c2.body.conversation.id}/messages`, v2.headers)).body.data).toHaveLength(1);
    expect((await api('PATCH', `/api/chat/inboxes/${open.id}`, a.headers, { businessHours: { timezone: 'Mars/Olympus', days: {} } })).status).toBe(400);
  });

  it('resolving asks the widget visitor for a rating, taken once, counted as analytics events of the customer', async () => {
    const customerEmail = `rated-${Date.now()}@example.com`;
    const v = await widgetVisitor(t.app, inbox.siteToken, { email: customerEmail, userHash: (await import('./inbox-support.js')).identityHash(inbox.identitySecret, customerEmail) });
    expect(v.session.identified).toBe(true);
    const c = await api('POST', '/api/widget/conversations', v.headers, { body: 'Help' });
    const id = c.body.conversation.id;
    expect((await api('POST', `/api/widget/conversations/${id}/csat`, v.headers, { score: 5 })).status).toBe(409);
    const resolved = await api('PATCH', `/api/chat/conversations/${id}`, a.headers, { status: 'resolved' });
    expect(resolved.body.status).toBe('resolved');
    const rated = await api('POST', `/api/widget/conversations/${id}/csat`, v.headers, { score: 4, comment: 'Quick' });
    expect(rated.status).toBe(200);
    expect(rated.body.csatScore).toBe(4);
    expect((await api('POST', `/api/widget/conversations/${id}/csat`, v.headers, { score: 1 })).status).toBe(409);
    expect((await api('POST', `/api/widget/conversations/${id}/csat`, v.headers, { score: 6 })).status).toBe(400);
    expect((await api('GET', `/api/chat/conversations/${id}`, a.headers)).body).toMatchObject({ csatScore: 4, csatComment: 'Quick' });
    const events = await analyticsNames(a.organizationId);
    expect(events.filter((e) => e.properties.conversationId === id).map((e) => e.name)).toEqual(['Conversation Created', 'Conversation Resolved', 'CSAT Submitted']);
    expect(events.find((e) => e.name === 'CSAT Submitted' && e.properties.conversationId === id)!.properties.score).toBe(4);
    // The visitor writes again: the conversation opens again.
    await api('POST', `/api/widget/conversations/${id}/messages`, v.headers, { body: 'One more thing' });
    expect((await api('GET', `/api/chat/conversations/${id}`, a.headers)).body.status).toBe('open');
  });

  it("an anonymous visitor's conversation, resolution and rating count in the conversations report", async () => {
    const report = await api('POST', '/api/reports', a.headers, { name: 'Support today', kind: 'conversations', range: { lastDays: 1 } });
    expect(report.status).toBe(201);
    const totals = async () => (await api('GET', `/api/reports/${report.body.id}/results`, a.headers)).body.totals;
    const before = await totals();
    const v = await widgetVisitor(t.app, inbox.siteToken);
    expect(v.session.identified).toBe(false);
    const id = (await api('POST', '/api/widget/conversations', v.headers, { body: 'Anonymous question' })).body.conversation.id;
    await api('PATCH', `/api/chat/conversations/${id}`, a.headers, { status: 'resolved' });
    expect((await api('POST', `/api/widget/conversations/${id}/csat`, v.headers, { score: 2 })).status).toBe(200);
    const after = await totals();
    expect([after.created - before.created, after.resolved - before.resolved, after.csatAnswers - before.csatAnswers]).toEqual([1, 1, 1]);
  });
});

describe('SMS conversations', () => {
  it("an inbound SMS signed with Twilio's SDK threads into the customer's open conversation; replies go out through Twilio", async () => {
    const customer = await createCustomer(t.app, a.headers, { phone: CUSTOMER_PHONE, firstName: 'Sam', smsOptIn: true });
    expect((await inboundSms(CUSTOMER_PHONE, 'Is my order shipped?')).statusCode).toBe(200);
    expect((await inboundSms(CUSTOMER_PHONE, 'Order 1042')).statusCode).toBe(200);
    const list = (await api('GET', `/api/chat/conversations?channel=sms&customerId=${customer.id}`, a.headers)).body.data;
    expect(list).toHaveLength(1);
    expect(list[0]).toMatchObject({ channel: 'sms', status: 'open', customer: { id: customer.id, phone: CUSTOMER_PHONE, firstName: 'Sam' }, unread: 2 });
    const id = list[0].id;
    expect((await api('GET', `/api/chat/conversations/${id}/messages`, a.headers)).body.data.map((m: any) => m.body)).toEqual(['Is my order shipped?', 'Order 1042']);
    // A retried webhook (same sid) threads nothing twice.
    const sid = `SM${'a'.repeat(32)}`;
    await inboundSms(CUSTOMER_PHONE, 'retry me', sid);
    await inboundSms(CUSTOMER_PHONE, 'retry me', sid);
    expect((await api('GET', `/api/chat/conversations/${id}/messages`, a.headers)).body.data.filter((m: any) => m.body === 'retry me')).toHaveLength(1);

    const before = fake.requestsTo('/Messages.json', 'POST').length;
    const reply = await api('POST', `/api/chat/conversations/${id}/messages`, a.headers, { body: 'Yes, it shipped today.' });
    expect(reply.status).toBe(201);
    expect(reply.body.deliveryStatus).toBe('sent');
    const sent = fake.requestsTo('/Messages.json', 'POST').slice(before);
    expect(sent).toHaveLength(1);
    expect(sent[0].form).toMatchObject({ To: CUSTOMER_PHONE, From: NUM, Body: 'Yes, it shipped today.' });
    // A private note is never sent.
    await api('POST', `/api/chat/conversations/${id}/messages`, a.headers, { body: 'internal', private: true });
    expect(fake.requestsTo('/Messages.json', 'POST').length).toBe(before + 1);

    // Resolve: the CSAT question goes out by SMS; a bare "5" is the answer and opens nothing.
    await api('PATCH', `/api/chat/conversations/${id}`, a.headers, { status: 'resolved' });
    const question = fake.requestsTo('/Messages.json', 'POST').slice(before + 1);
    expect(question.map((r) => r.form.Body)).toEqual([expect.stringMatching(/1 \(poor\) to 5 \(great\)/)]);
    await inboundSms(CUSTOMER_PHONE, '5');
    expect((await api('GET', `/api/chat/conversations/${id}`, a.headers)).body).toMatchObject({ status: 'resolved', csatScore: 5 });
    expect((await api('GET', `/api/chat/conversations?channel=sms&customerId=${customer.id}`, a.headers)).body.data).toHaveLength(1);
    const names = (await analyticsNames(a.organizationId)).filter((e) => e.properties.conversationId === id).map((e) => e.name);
    expect(names).toEqual(['Conversation Created', 'Conversation Resolved', 'CSAT Submitted']);

    // The next message starts a new conversation; STOP is handled as a keyword and threads nowhere.
    await inboundSms(CUSTOMER_PHONE, 'New question');
    await inboundSms(CUSTOMER_PHONE, 'STOP');
    const after = (await api('GET', `/api/chat/conversations?channel=sms&customerId=${customer.id}`, a.headers)).body.data;
    expect(after).toHaveLength(2);
    const fresh = after.find((c: any) => c.id !== id);
    expect((await api('GET', `/api/chat/conversations/${fresh.id}/messages`, a.headers)).body.data.map((m: any) => m.body)).toEqual(['New question']);
    // Opted out: the reply is recorded as failed with the reason, and nothing reaches Twilio.
    const n = fake.requestsTo('/Messages.json', 'POST').length;
    const refused = await api('POST', `/api/chat/conversations/${fresh.id}/messages`, a.headers, { body: 'Are you there?' });
    expect(refused.body).toMatchObject({ deliveryStatus: 'failed', deliveryError: expect.stringMatching(/opted out/) });
    expect(fake.requestsTo('/Messages.json', 'POST').length).toBe(n);
    // The sidebar shows the customer and their past conversation.
    const side = await api('GET', `/api/chat/conversations/${fresh.id}/sidebar`, a.headers);
    expect(side.body.customer).toMatchObject({ id: customer.id, smsOptIn: false });
    expect(side.body.pastConversations.map((c: any) => c.id)).toEqual([id]);
  });
  it('a reply left pending by a process that stopped before sending goes out once by the durable retry', async () => {
    const phone = '+14155550123';
    await createCustomer(t.app, a.headers, { phone, smsOptIn: true });
    await inboundSms(phone, 'Anyone there?');
    const id = (await api('GET', '/api/chat/conversations?channel=sms', a.headers)).body.data.find((c: any) => c.customer?.phone === phone).id;
    const ctx = { organizationId: a.organizationId, actor: { type: 'user' as const, id: a.userId }, requestId: 'test', role: 'owner' as const };
    // The reply commits as pending with its retry queued; the process "stops" before its after-commit send.
    const reply = await t.db.withTenant(a.organizationId, (tx) => postAgentMessage(tx, ctx, id, { body: 'Sorry for the wait' }, newEffects()));
    const toTwilio = () => fake.requestsTo('/Messages.json', 'POST').filter((r) => r.form.Body === 'Sorry for the wait');
    const status = async () => (await api('GET', `/api/chat/conversations/${id}/messages`, a.headers)).body.data.find((m: any) => m.id === reply.id).deliveryStatus;
    expect(await status()).toBe('pending');
    const job = (messageId: string) =>
      t.db.withTenant(a.organizationId, async (tx) =>
        (await query<{ state: string; run_at: Date }>(tx, sql`select state, run_at from jobs where organization_id = ${a.organizationId} and singleton_key = ${'inbox-deliver:' + messageId}`))[0]);
    expect(new Date((await job(reply.id)).run_at).getTime()).toBeGreaterThan(Date.now() + 60_000);
    // Its time comes (a few minutes later): the worker sends it, once.
    const due = () => t.db.withTenant(a.organizationId, (tx) => tx.execute(sql`update jobs set run_at = now() where organization_id = ${a.organizationId} and singleton_key like 'inbox-deliver:%' and state = 'queued'`));
    await due();
    await waitFor(async () => (await status()) === 'sent', 15_000);
    expect(toTwilio()).toHaveLength(1);
    // A reply its request did deliver leaves the retry nothing to send.
    const direct = await api('POST', `/api/chat/conversations/${id}/messages`, a.headers, { body: 'Anything else?' });
    expect(direct.body.deliveryStatus).toBe('sent');
    await due();
    await waitFor(async () => (await job(direct.body.id)).state === 'completed', 15_000);
    expect((await job(reply.id)).state).toBe('completed');
    expect(fake.requestsTo('/Messages.json', 'POST').filter((r) => r.form.Body === 'Anything else?')).toHaveLength(1);
    expect(toTwilio()).toHaveLength(1);
  });
});

describe('email conversations', () => {
  it('Inbound Parse starts a conversation; the reply is mailed with threading headers; replies thread back by In-Reply-To or reply-to address', async () => {
    const url = inbox.emailInboundUrl;
    const first = await inboundEmail(url, {
      from: 'Dana Customer <dana@example.net>',
      to: 'support@acme.test',
      subject: 'Broken zipper',
      text: 'My jacket zipper broke after a week.',
      headers: 'Message-ID: <first-1@mail.example.net>\r\nFrom: dana@example.net\r\nSubject: Broken zipper',
    });
    expect(first.status).toBe(200);
    const id = first.body.conversationId;
    expect((await api('GET', `/api/chat/conversations/${id}`, a.headers)).body).toMatchObject({ channel: 'email', subject: 'Broken zipper', status: 'open' });

    const reply = await api('POST', `/api/chat/conversations/${id}/messages`, a.headers, { body: 'Sorry! A replacement is on its way.' });
    expect(reply.body.deliveryStatus).toBe('sent');
    const mail = await waitFor(() => smtp.messages.find((m) => m.to.includes('dana@example.net')));
    expect(mail.header('Subject')).toBe('Re: Broken zipper');
    expect(mail.header('In-Reply-To')).toBe('<first-1@mail.example.net>');
    expect(mail.header('References')).toBe('<first-1@mail.example.net>');
    expect(mail.header('Reply-To')).toBe(`reply+${id}@reply.switchboard.test`);
    const ourId = mail.header('Message-ID');
    expect(ourId).toMatch(/^<chat-[0-9a-f-]+@reply\.switchboard\.test>$/);
    expect(mail.text).toContain('A replacement is on its way.');

    // The customer answers: threaded by In-Reply-To, the quoted text dropped.
    const second = await inboundEmail(url, {
      from: 'dana@example.net',
      to: `reply+${id}@reply.switchboard.test`,
      subject: 'Re: Broken zipper',
      text: 'Thank you!\n\nOn Mon, Nov 30, 2026 at 9:00 Acme wrote:\n> Sorry! A replacement is on its way.',
      headers: `Message-ID: <second-2@mail.example.net>\r\nIn-Reply-To: ${ourId}\r\nReferences: <first-1@mail.example.net> ${ourId}`,
    });
    expect(second.body.conversationId).toBe(id);
    // Only the reply-to address (headers stripped by some client): same conversation.
    const third = await inboundEmail(url, { from: 'dana@example.net', to: `Acme <reply+${id}@reply.switchboard.test>`, subject: 'also', text: 'One more detail.', headers: 'Message-ID: <third-3@mail.example.net>' });
    expect(third.body.conversationId).toBe(id);
    // SendGrid retries the same post: stored once.
    await inboundEmail(url, { from: 'dana@example.net', to: 'x@y.z', subject: 'also', text: 'One more detail.', headers: 'Message-ID: <third-3@mail.example.net>' });
    const bodies = (await api('GET', `/api/chat/conversations/${id}/messages`, a.headers)).body.data.map((m: any) => m.body);
    expect(bodies).toEqual(['My jacket zipper broke after a week.', 'Sorry! A replacement is on its way.', 'Thank you!', 'One more detail.']);

    // The second agent reply carries the whole thread in References and answers the latest message.
    await api('POST', `/api/chat/conversations/${id}/messages`, a.headers, { body: 'Glad to help.' });
    const mail2 = await waitFor(() => smtp.messages.filter((m) => m.to.includes('dana@example.net'))[1]);
    expect(mail2.header('In-Reply-To')).toBe('<third-3@mail.example.net>');
    expect(mail2.header('References').split(' ')).toEqual(['<first-1@mail.example.net>', ourId, '<second-2@mail.example.net>', '<third-3@mail.example.net>']);
  });

  it('refuses a wrong secret, another content type and an oversized post', async () => {
    const bad = inbox.emailInboundUrl.replace(/\.([A-Za-z0-9_-]+)$/, '.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA');
    expect((await inboundEmail(bad, { from: 'x@example.com', text: 'hi' })).status).toBe(401);
    const json = await t.app.inject({ method: 'POST', url: new URL(inbox.emailInboundUrl).pathname, headers: { 'content-type': 'application/json' }, payload: { from: 'x@example.com' } });
    expect(json.statusCode).toBe(415);
    const big = await multipart({ from: 'x@example.com', text: 'x'.repeat(11 * 1024 * 1024) });
    const res = await t.app.inject({ method: 'POST', url: new URL(inbox.emailInboundUrl).pathname, headers: { 'content-type': big.contentType }, payload: big.payload });
    expect(res.statusCode).toBe(413);
  });
});
