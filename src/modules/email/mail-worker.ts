import nodemailer, { type SendMailOptions } from 'nodemailer';

// A piscina worker: builds one message's MIME and its DKIM signature off the event loop (mailer.ts sends the
// result as it is). The same nodemailer that sends also builds, so the bytes are what sendMail would write.
const composer = nodemailer.createTransport({ streamTransport: true, buffer: true });

export default async function build(options: SendMailOptions): Promise<Buffer> {
  const info = await composer.sendMail(options);
  return info.message as Buffer;
}
