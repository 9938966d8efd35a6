import { randomUUID } from 'node:crypto';
import type { FastifyBaseLogger, FastifyInstance } from 'fastify';
import type { Config } from '../../config.js';
import { escapeHtml } from '../../lib/html.js';
import { acquireMailer, type Mailer } from '../email/mailer.js';

/**
 * Account mail (verification, password reset, invitations) goes through the same mailer as
 * campaigns; without SMTP_URL it lands in DATA_DIR/outbox/_account, which no organization's outbox
 * route lists: the links carry tokens.
 */
export const ACCOUNT_OUTBOX = '_account';

export interface AccountMail {
  to: string;
  subject: string;
  /** Paragraphs of plain text; a line that is a URL becomes a link in the HTML part. */
  lines: string[];
}

export class AccountMailer {
  private readonly mailer: Mailer;
  private readonly release: () => void;
  constructor(
    private readonly config: Config,
    private readonly log: FastifyBaseLogger,
  ) {
    ({ mailer: this.mailer, release: this.release } = acquireMailer(config));
  }

  /** Sends, and logs rather than throws on failure: the caller's change has committed; a resend route exists. */
  async send(mail: AccountMail) {
    const id = randomUUID();
    const html = mail.lines
      .map((l) => (/^https?:\/\/\S+$/.test(l) ? `<p><a href="${escapeHtml(l)}">${escapeHtml(l)}</a></p>` : `<p>${escapeHtml(l)}</p>`))
      .join('\n');
    try {
      await this.mailer.send({
        organizationId: ACCOUNT_OUTBOX,
        id,
        from: this.config.email.from,
        to: mail.to,
        subject: mail.subject,
        html,
        text: mail.lines.join('\n\n'),
        headers: {},
        messageIdHeader: `<${id}@${new URL(this.config.publicUrl).hostname}>`,
      });
    } catch (err) {
      this.log.error({ err, subject: mail.subject }, 'account mail could not be sent');
    }
  }

  close() {
    this.release();
  }
}

const mailers = new WeakMap<FastifyInstance, AccountMailer>();

/** One account mailer per server, shared by the auth and organization routes, closed with the server. */
export function accountMailerFor(app: FastifyInstance, config: Config): AccountMailer {
  let m = mailers.get(app);
  if (!m) {
    const mailer = new AccountMailer(config, app.log);
    mailers.set(app, (m = mailer));
    app.addHook('onClose', async () => mailer.close());
  }
  return m;
}

export const verificationMail = (config: Config, to: string, token: string): AccountMail => ({
  to,
  subject: 'Confirm your email address',
  lines: [
    'Open this link to confirm that this address is yours (it works once, for 48 hours):',
    `${config.publicUrl}/api/auth/verify-email?token=${encodeURIComponent(token)}`,
    'If you did not create an account, ignore this message.',
  ],
});

export const passwordResetMail = (config: Config, to: string, token: string): AccountMail => ({
  to,
  subject: 'Reset your password',
  lines: [
    'Someone asked to reset the password of the account with this address. To choose a new one, send this token',
    `with the new password to POST ${config.publicUrl}/api/auth/password-reset/confirm within an hour (it works once):`,
    `Token: ${token}`,
    'If it was not you, ignore this message: nothing has changed.',
  ],
});

export const invitationMail = (config: Config, to: string, invite: { organizationName: string; role: string; token: string }): AccountMail => ({
  to,
  subject: `You are invited to join ${invite.organizationName}`,
  lines: [
    `You are invited to join ${invite.organizationName} as ${invite.role}. Sign in (or sign up) with this address, confirm it, then accept by POST to this link (valid 14 days, once):`,
    `${config.publicUrl}/api/invitations/${encodeURIComponent(invite.token)}/accept`,
  ],
});
