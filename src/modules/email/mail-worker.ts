import nodemailer, { type SendMailOptions } from 'nodemailer';

// A piscina worker: builds messages' MIME and their DKIM signatures off the event loop (mailer.ts sends the
// results as they are). The same nodemailer that sends also builds, so the bytes are what sendMail would write.
const composer = nodemailer.createTransport({ streamTransport: true, buffer: true });

/** One message's bytes, or why it could not be built (that message's failure alone, not its batch's). */
export type Built = { ok: Uint8Array } | { error: string };

/** A batch of messages, built one after another; one hand-over to the thread and one reply for all of them. */
export default async function build(batch: SendMailOptions[]): Promise<Built[]> {
  const out: Built[] = [];
  for (const options of batch) {
    try {
      out.push({ ok: (await composer.sendMail(options)).message as Buffer });
    } catch (err) {
      out.push({ error: err instanceof Error ? err.message : String(err) });
    }
  }
  return out;
}
