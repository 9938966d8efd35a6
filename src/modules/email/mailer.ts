import type { KeyObject } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import nodemailer, { type SendMailOptions, type Transporter } from 'nodemailer';
import { Piscina } from 'piscina';
import type { Config } from '../../config.js';
import { workerFile } from '../../lib/worker-file.js';
import type { Built } from './mail-worker.js';

export interface OutgoingMail {
  organizationId: string;
  /** Our message id; also names the outbox file. */
  id: string;
  from: string;
  to: string;
  replyTo?: string | null;
  subject: string;
  html: string;
  text: string;
  headers: Record<string, string | { prepared: true; value: string }>;
  messageIdHeader: string;
  /** DKIM signature of the sender's verified domain (see senders/identity.ts). */
  dkim?: { domainName: string; keySelector: string; privateKey: string | KeyObject };
  /** Files attached (a scheduled report's CSV). */
  attachments?: { filename: string; content: string; contentType: string }[];
}

export interface SendResult {
  /** The id the server gave the message ("250 Ok: queued as <id>"), when it said one. */
  providerMessageId: string | null;
  response: string;
}

export interface Mailer {
  kind: 'smtp' | 'outbox';
  send(mail: OutgoingMail): Promise<SendResult>;
  close(): void;
}

/** SMTP errors the server answered with 5xx are permanent; anything else (4xx, network) is worth retrying. */
export function classifySendError(err: unknown): { permanent: boolean; reply: string } {
  const e = err as { responseCode?: number; response?: string; message?: string; code?: string };
  const reply = (e.response ?? e.message ?? String(err)).slice(0, 1000);
  return { permanent: typeof e.responseCode === 'number' && e.responseCode >= 500, reply };
}

// The envelope sender (MAIL FROM, hence Return-Path) is always the platform's bounce address,
// whatever the From header says: bounces come back to us, not to whoever the From names.
const toNodemailer = (m: OutgoingMail, config: Config) => ({
  envelope: { from: config.email.bounceAddress, to: m.to },
  dkim: m.dkim,
  from: m.from,
  to: m.to,
  replyTo: m.replyTo ?? undefined,
  subject: m.subject,
  html: m.html,
  text: m.text,
  headers: m.headers,
  messageId: m.messageIdHeader,
  attachments: m.attachments,
});

/** Messages waiting for a builder thread go to it together, up to this many (one hand-over and one reply each way). */
const MAX_BATCH = 16;

/**
 * The mail-building threads. A message waits here while every thread has a batch (plus one queued
 * behind it, so a thread never waits for the event loop between two batches); whatever waits then
 * goes as the next batch. Under load that is one hand-over per batch instead of one per message;
 * idle, a message goes alone at once.
 */
class MailBuilders {
  private readonly pool: Piscina<SendMailOptions[], Built[]>;
  private readonly waiting: { options: SendMailOptions; resolve(raw: Buffer): void; reject(err: Error): void }[] = [];
  private running = 0;

  constructor(private readonly threads: number) {
    this.pool = new Piscina({ ...workerFile(import.meta.url, 'mail-worker'), minThreads: 0, maxThreads: threads, idleTimeout: 30_000 });
  }

  build(options: SendMailOptions): Promise<Buffer> {
    return new Promise((resolve, reject) => {
      this.waiting.push({ options, resolve, reject });
      this.dispatch();
    });
  }

  close() {
    for (const w of this.waiting.splice(0)) w.reject(new Error('The mailer is shutting down'));
    void this.pool.destroy();
  }

  private dispatch() {
    while (this.running < this.threads * 2 && this.waiting.length) {
      const batch = this.waiting.splice(0, MAX_BATCH);
      this.running++;
      this.pool
        .run(batch.map((w) => w.options))
        .then((built) => {
          batch.forEach((w, i) => {
            const b = built[i];
            if (b && 'ok' in b) w.resolve(Buffer.from(b.ok.buffer, b.ok.byteOffset, b.ok.byteLength));
            else w.reject(new Error(b?.error ?? 'The mail builder gave no answer for this message'));
          });
        })
        // A thread that died (or a pool being destroyed) fails its whole batch; each message is then retried.
        .catch((err) => batch.forEach((w) => w.reject(err instanceof Error ? err : new Error(String(err)))))
        .finally(() => {
          this.running--;
          this.dispatch();
        });
    }
  }
}

export function outboxDir(config: Config, organizationId?: string) {
  const base = path.join(config.dataDir, 'outbox');
  return organizationId ? path.join(base, organizationId) : base;
}

/** SMTP through a pooled nodemailer transport when SMTP_URL is set; otherwise .eml files in DATA_DIR/outbox/<organization>. */
export function createMailer(config: Config): Mailer {
  if (config.email.smtpUrl) {
    const transport: Transporter = nodemailer.createTransport({
      url: config.email.smtpUrl,
      pool: true,
      maxConnections: config.email.concurrency,
      maxMessages: Infinity,
    } as any);
    // The MIME building and the DKIM signature (most of a message's CPU) run in worker threads; the pooled
    // SMTP connections send the finished bytes.
    const builders = new MailBuilders(Math.max(1, os.availableParallelism() - 1));
    return {
      kind: 'smtp',
      async send(m) {
        const options = toNodemailer(m, config);
        const raw = await builders.build(options);
        const info = await transport.sendMail({ envelope: options.envelope, raw });
        const response = String(info.response ?? '');
        return { providerMessageId: /queued as\s+<?([^\s>]+)/i.exec(response)?.[1] ?? null, response };
      },
      close: () => {
        transport.close();
        builders.close();
      },
    };
  }
  const transport = nodemailer.createTransport({ streamTransport: true, buffer: true, newline: 'unix' });
  const made = new Set<string>();
  return {
    kind: 'outbox',
    async send(m) {
      const info = await transport.sendMail(toNodemailer(m, config));
      const dir = outboxDir(config, m.organizationId);
      if (!made.has(dir)) {
        mkdirSync(dir, { recursive: true });
        made.add(dir);
      }
      writeFileSync(path.join(dir, `${Date.now()}-${m.id}.eml`), info.message as Buffer);
      return { providerMessageId: null, response: 'written to outbox' };
    },
    close() {},
  };
}

const shared = new Map<string, { mailer: Mailer; holders: number }>();

/**
 * The process's mailer for this configuration: campaign routes, sender confirmations, account mail
 * and the in-process job worker share one SMTP connection pool. Each holder releases it once (server
 * close, JobRunner.stop); the last release closes the pool.
 */
export function acquireMailer(config: Config): { mailer: Mailer; release(): void } {
  const id = JSON.stringify([config.email.smtpUrl ?? null, config.email.concurrency, config.email.bounceAddress, config.dataDir]);
  let entry = shared.get(id);
  if (!entry) shared.set(id, (entry = { mailer: createMailer(config), holders: 0 }));
  entry.holders++;
  const held = entry;
  let released = false;
  return {
    mailer: held.mailer,
    release() {
      if (released) return;
      released = true;
      if (--held.holders > 0) return;
      if (shared.get(id) === held) shared.delete(id);
      held.mailer.close();
    },
  };
}
