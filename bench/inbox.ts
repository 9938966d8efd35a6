/**
 * Live delivery latency of the conversations inbox (issue 11): a visitor POSTs a message through the
 * widget API and the agent's dashboard receives it over GET /api/chat/live (server-sent events), on one
 * listening server (PGlite on disk, `npm start`'s default; the in-process bus). MESSAGES messages one
 * after another; p50/p99 of POST sent → `message.created` read off the agent's socket.
 * Run alone: `npx tsx bench/inbox.ts`.
 */
import { openSse } from '../test/inbox-support.js';
import { bodyOf, log, percentile, runIfMain, type Result } from './lib.js';
import { embeddedServer } from './server.js';

const SUITE = 'inbox';
const MESSAGES = Number(process.env.BENCH_INBOX_MESSAGES ?? 400);

export async function run(): Promise<Result[]> {
  const { base, cookie, cleanup } = await embeddedServer(SUITE, { email: 'bench-agent@example.com', name: 'Agent', organizationName: 'Bench inbox' });
  try {
    const inboxRes = await fetch(`${base}/api/chat/inboxes`, { method: 'POST', headers: { cookie, 'content-type': 'application/json', origin: base }, body: JSON.stringify({ name: 'Bench site' }) });
    const inbox = await bodyOf(inboxRes);
    if (inboxRes.status !== 201) throw new Error(`inbox: ${inboxRes.status} ${JSON.stringify(inbox)}`);
    const token = inbox.siteToken as string;
    // The widget allows a visitor 20 messages a minute (its abuse guard): the bench is many visitors, 15 messages each.
    const newVisitor = async () => {
      const session = await fetch(`${base}/api/widget/session`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-site-token': token }, body: JSON.stringify({ siteToken: token }) });
      const visitorCookie = session.headers.getSetCookie().find((c) => c.startsWith('sbv_'))!.split(';')[0];
      const headers = { 'content-type': 'application/json', 'x-site-token': token, cookie: visitorCookie };
      const started = await bodyOf(await fetch(`${base}/api/widget/conversations`, { method: 'POST', headers, body: JSON.stringify({ body: 'hello' }) }));
      return { headers, conversationId: started.conversation.id as string };
    };
    let visitor = await newVisitor();
    const live = await openSse(`${base}/api/chat/live`, { cookie });
    log(`${SUITE}: ${MESSAGES} messages, visitor POST → agent SSE, PGlite on disk`);
    const latencies: number[] = [];
    let errors = 0;
    const t0 = performance.now();
    for (let i = 0; i < MESSAGES; i++) {
      if (i > 0 && i % 15 === 0) visitor = await newVisitor();
      const body = `bench message ${i}`;
      const sent = performance.now();
      const arrived = live.next((e) => e.event === 'message.created' && e.data.message?.body === body, 10_000);
      const res = await fetch(`${base}/api/widget/conversations/${visitor.conversationId}/messages`, { method: 'POST', headers: visitor.headers, body: JSON.stringify({ body }) });
      await res.arrayBuffer();
      if (res.status !== 201) {
        errors++;
        arrived.catch(() => {});
        continue;
      }
      try {
        latencies.push((await arrived).at - sent);
      } catch {
        errors++;
      }
    }
    const seconds = (performance.now() - t0) / 1000;
    live.close();
    const sorted = Float64Array.from(latencies).sort();
    return [
      {
        kind: 'load', suite: SUITE, name: 'widget message POST → agent live event (SSE)', connections: 1, seconds, requests: latencies.length,
        rps: latencies.length / seconds, p50Ms: percentile(sorted, 50), p99Ms: percentile(sorted, 99), errors,
      },
    ];
  } finally {
    await cleanup();
  }
}

await runIfMain(import.meta.url, run);
