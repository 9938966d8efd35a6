// withSystem bypasses row-level security, so every call site is a reviewed decision (ARCHITECTURE.md,
// "System access"). This test reads the real source under src/ at test time, finds every withSystem call
// with the TypeScript parser, and holds the list against ALLOWED below: a new call site fails until a
// reviewer adds it here. Raw owner access (db.owner) is held to a list the same way.
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { sql } from 'drizzle-orm';
import ts from 'typescript';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SYSTEM_REASONS, type Database } from '../src/db/index.js';
import { createTestDatabase, type TestDatabase } from './helpers.js';

/**
 * The reviewed withSystem call sites: file (relative to the repository) and reason.
 * Before adding a line, check that the call only resolves which organization something belongs to
 * (webhooks by provider id, the job scheduler's claim, the Stripe billing webhook) and that the
 * actual change then runs inside withTenant(organization).
 */
const ALLOWED: { file: string; reason: string }[] = [
  // Claims due jobs across organizations; each job then runs inside withTenant(job.organization_id).
  { file: 'src/jobs/queue.ts', reason: 'job-scheduler' },
  // Finds which organization owns the messages a SendGrid event batch names; the update runs in withTenant.
  { file: 'src/modules/email/webhook.ts', reason: 'resolve-email-webhook' },
  // Finds the organization (and auth token) a Twilio webhook belongs to, by AccountSid or by the number called;
  // the SMS and voice webhooks then verify the signature and apply inside withTenant.
  { file: 'src/modules/twilio/webhooks.ts', reason: 'resolve-twilio-webhook' },
  // Finds the organization a Shopify webhook's shop domain is connected to, after the HMAC (app secret) is checked;
  // the topic is then applied inside withTenant.
  { file: 'src/modules/shopify/webhooks.ts', reason: 'resolve-shopify-webhook' },
  // Finds the organization a Stripe event belongs to (by Stripe customer id, else a checkout session's
  // client_reference_id naming an existing organization), after Stripe-Signature is checked; the
  // billing change is then applied inside withTenant (test/billing.test.ts: A's event changes only A).
  { file: 'src/modules/billing/webhooks.ts', reason: 'resolve-stripe-webhook' },
  // Creates analytics_events' monthly partitions ahead (DDL, the owner's): sb_event_partitions reads and writes
  // no tenant row except moving a new month's rows out of the default partition (test/analytics-events.test.ts).
  { file: 'src/modules/analytics/partitions.ts', reason: 'event-partitions' },
  // Finds the organization (id and name only) a public help center URL names by its slug, a platform-unique
  // column; every article, category and counter is then read or written inside withTenant (test/knowledge-base.test.ts).
  { file: 'src/modules/knowledge-base/public.ts', reason: 'resolve-help-center' },
];

/** Files that may reach the owner connection (db.owner) directly, besides src/db itself: migrations only. */
const OWNER_ALLOWED = ['src/cli.ts'];

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const DEFINED_IN = 'src/db/index.ts';

function sourceFiles(dir: string): string[] {
  return (readdirSync(path.join(root, dir), { recursive: true, withFileTypes: true }) as import('node:fs').Dirent[])
    .filter((e) => e.isFile() && /\.(ts|mts|cts|tsx)$/.test(e.name) && !e.name.endsWith('.d.ts'))
    .map((e) => path.relative(root, path.join(e.parentPath ?? (e as any).path, e.name)).split(path.sep).join('/'))
    .sort();
}

interface Site {
  file: string;
  line: number;
  reason: string;
}

/** Every withSystem call, every other reference to withSystem, and every `<db>.owner` use in src/. */
function scan() {
  const calls: Site[] = [];
  const indirect: string[] = [];
  const owner: string[] = [];
  for (const file of sourceFiles('src')) {
    const text = readFileSync(path.join(root, file), 'utf8');
    if (!text.includes('withSystem') && !text.includes('owner')) continue;
    const sf = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true, file.endsWith('x') ? ts.ScriptKind.TSX : ts.ScriptKind.TS);
    const where = (n: ts.Node) => `${file}:${sf.getLineAndCharacterOfPosition(n.getStart(sf)).line + 1}`;
    const visit = (node: ts.Node) => {
      if (ts.isIdentifier(node) && node.text === 'withSystem') {
        const parent = node.parent;
        const callee = ts.isPropertyAccessExpression(parent) && parent.name === node ? parent : node;
        const call = callee.parent;
        if (ts.isCallExpression(call) && call.expression === callee) {
          const arg = call.arguments[0];
          const reason = arg && (ts.isStringLiteral(arg) || ts.isNoSubstitutionTemplateLiteral(arg)) ? arg.text : `<not a string literal: ${arg ? arg.getText(sf) : 'none'}>`;
          calls.push({ file, line: sf.getLineAndCharacterOfPosition(call.getStart(sf)).line + 1, reason });
        } else {
          const isDefinition =
            file === DEFINED_IN && (ts.isMethodSignature(parent) || ts.isMethodDeclaration(parent) || ts.isPropertySignature(parent)) && parent.name === node;
          if (!isDefinition) indirect.push(`${where(node)}: ${parent.getText(sf).slice(0, 80)}`);
        }
      }
      // db['withSystem'](...) or a destructured alias would dodge the call scan.
      if ((ts.isStringLiteral(node) || ts.isNoSubstitutionTemplateLiteral(node)) && node.text === 'withSystem' && !ts.isLiteralTypeNode(node.parent)) {
        indirect.push(`${where(node)}: ${node.parent.getText(sf).slice(0, 80)}`);
      }
      if (ts.isPropertyAccessExpression(node) && node.name.text === 'owner' && /(^|\.)(db|database)$/i.test(node.expression.getText(sf)) && !file.startsWith('src/db/')) {
        owner.push(file);
      }
      ts.forEachChild(node, visit);
    };
    visit(sf);
  }
  return { calls, indirect, owner };
}

const key = (s: { file: string; reason: string }) => `${s.file} — ${s.reason}`;

let tdb: TestDatabase;
let db: Database;
beforeAll(async () => {
  tdb = await createTestDatabase();
  db = tdb.db;
});
afterAll(() => tdb?.close());

describe('withSystem call sites', () => {
  const { calls, indirect, owner } = scan();

  it('finds the definition it guards (the scan is looking at the real source)', () => {
    const index = readFileSync(path.join(root, DEFINED_IN), 'utf8');
    expect(index).toMatch(/withSystem\s*\(\s*reason/);
    expect(sourceFiles('src')).toContain(DEFINED_IN);
  });

  it('match the reviewed allow-list exactly', () => {
    const found = calls.map(key).sort();
    const allowed = ALLOWED.map(key).sort();
    const unreviewed = calls.filter((c) => {
      const i = allowed.indexOf(key(c));
      if (i === -1) return true;
      allowed.splice(i, 1);
      return false;
    });
    if (unreviewed.length > 0) {
      throw new Error(
        `New withSystem call site(s), not on the allow-list:\n${unreviewed.map((c) => `  ${c.file}:${c.line} withSystem('${c.reason}')`).join('\n')}\n` +
          'withSystem bypasses row-level security. Review that the call only resolves which organization something belongs to ' +
          '(or is the job scheduler / the billing webhook) and that the change itself then runs inside withTenant; give it a ' +
          'string-literal reason from SYSTEM_REASONS (src/db/index.ts); then add { file, reason } to ALLOWED in test/with-system.test.ts.',
      );
    }
    expect(allowed, 'ALLOWED entries in test/with-system.test.ts with no matching call site any more: remove them').toEqual([]);
    expect(found.length).toBe(ALLOWED.length);
  });

  it('use only reasons from SYSTEM_REASONS, as string literals', () => {
    for (const c of calls) {
      expect(SYSTEM_REASONS as readonly string[], `${c.file}:${c.line} withSystem reason '${c.reason}' is not in SYSTEM_REASONS (src/db/index.ts)`).toContain(c.reason);
    }
    for (const a of ALLOWED) expect(SYSTEM_REASONS as readonly string[], `ALLOWED reason ${a.reason}`).toContain(a.reason);
  });

  it('are never reached indirectly (aliases, destructuring, computed member access)', () => {
    expect(indirect, 'withSystem referenced other than by a direct call: call it directly so this test can see the reason').toEqual([]);
  });

  it('are the only way around RLS besides migrations: db.owner is used only in the listed files', () => {
    expect([...new Set(owner)].filter((f) => !OWNER_ALLOWED.includes(f)), 'raw owner access outside src/db and the migrate command: use withTenant, or review and list it').toEqual([]);
  });

  it('refuses an unknown reason at runtime, before running anything', async () => {
    let ran = false;
    const attempt = async () => db.withSystem('definitely-not-a-reason' as any, async () => {
      ran = true;
    });
    await expect(attempt()).rejects.toThrow(/unknown reason/);
    expect(ran).toBe(false);
    // A known reason does run, as the owner (it sees past RLS: that is why it is listed).
    const [r] = await db.withSystem(SYSTEM_REASONS[0], async (tx) => ((await tx.execute(sql`select current_user as u`)) as unknown as { rows: { u: string }[] }).rows);
    expect(r.u).not.toBe('switchboard_app');
  });
});
