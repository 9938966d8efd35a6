import { randomUUID } from 'node:crypto';
import { sql } from 'drizzle-orm';
import type { Config } from '../../config.js';
import type { Database } from '../../db/index.js';
import { arr, query } from '../../db/sql.js';
import type { JobHandler } from '../../jobs/queue.js';
import { acquireMailer } from '../email/mailer.js';
import { csvText } from './csv.js';
import { csvFileName, getReport, INTERVAL_MS, runReport } from './service.js';

/**
 * A scheduled report's delivery: run inside the organization's scope, mailed with its CSV attached to the
 * schedule's recipients who are still members (their addresses read in that scope), then the same job is
 * queued again one interval later. A report deleted or unscheduled since ends the chain.
 */
export function deliveryHandler(db: Database, config: Config): JobHandler {
  return async (job) => {
    const org = job.organizationId;
    const id = String(job.payload.reportId);
    const work = await db.withTenant(org, async (tx) => {
      const report = await getReport(tx, { organizationId: org }, id).catch(() => null);
      if (!report?.schedule) return null;
      const results = await runReport(tx, { organizationId: org }, id);
      const people = await query<{ email: string }>(
        tx,
        sql`select u.email from memberships m join users u on u.id = m.user_id
             where m.organization_id = ${org} and m.user_id = any(${arr(report.schedule.recipients)}::uuid[]) order by u.email`,
      );
      return { report, results, emails: people.map((p) => p.email) };
    });
    if (!work) return;
    const { report, results, emails } = work;
    const filename = csvFileName(report.name, results);
    const content = csvText(results.columns, results.rows);
    const { mailer, release } = acquireMailer(config);
    try {
      for (const to of emails) {
        const mid = randomUUID();
        const text = `Your ${report.schedule!.every === 'day' ? 'daily' : 'weekly'} report "${report.name}" for ${results.from} to ${results.to}: ${results.rows.length} rows, attached as ${filename}.`;
        await mailer.send({
          organizationId: org,
          id: mid,
          from: config.email.from,
          to,
          subject: `Report: ${report.name} (${results.from} to ${results.to})`.replace(/[\r\n]+/g, ' '),
          text,
          html: `<p>${text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;')}</p>`,
          headers: {},
          messageIdHeader: `<${mid}@${new URL(config.publicUrl).hostname}>`,
          attachments: [{ filename, content, contentType: 'text/csv; charset=utf-8' }],
        });
      }
    } finally {
      release();
    }
    return { retryAt: new Date(Date.now() + INTERVAL_MS[report.schedule!.every]) };
  };
}
