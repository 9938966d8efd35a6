import { createHash } from 'node:crypto';
import type { Config } from '../../config.js';
import { extractLinks, PLACEHOLDER } from './links.js';
import type { OutgoingMail } from './mailer.js';
import type { RenderPool } from './render-pool.js';
import { escapeHtml } from '../../lib/html.js';
import { customerVars, type CampaignSources } from './templates.js';
import type { TokenSigner } from './tokens.js';

export { extractLinks };

export interface CampaignContent {
  id: string;
  name: string;
  subject: string;
  preheader: string | null;
  fromName: string | null;
  fromEmail: string | null;
  replyTo: string | null;
  html: string;
  text: string | null;
}

export interface PreparedCampaign {
  content: CampaignContent;
  links: string[];
  /** What the render pool compiles (once per thread and content hash). */
  templates: { key: string; sources: CampaignSources };
}

/** Once per send: the tracked links (main thread, linear) and the sources the render threads will parse. */
export function prepareCampaign(c: CampaignContent): PreparedCampaign {
  const { links } = extractLinks(c.html);
  const sources: CampaignSources = { subject: c.subject, preheader: c.preheader, html: c.html, text: c.text };
  const key = createHash('sha256').update(JSON.stringify(sources)).digest('base64url');
  return { content: c, links, templates: { key, sources } };
}

export interface Recipient {
  messageId: string;
  organizationId: string;
  toEmail: string;
  customer: { email: string | null; firstName: string | null; lastName: string | null; phone?: string | null; tags?: string[]; attributes?: Record<string, unknown> };
}

const fromHeader = (name: string | null, email: string) => (name ? `"${name.replace(/["\\]/g, '')}" <${email}>` : email);

const HREF_BEFORE = /\bhref\s*=\s*["']?$/i;

/**
 * Whether the rendered HTML links to this URL (an href, quoted or not, raw or HTML-escaped). Runs once per
 * message with a URL unique to it, so it looks the URL up as a string and checks only what surrounds each
 * occurrence (compiling a pattern per message was about 5 % of a campaign send's CPU).
 */
export function linksTo(html: string, url: string) {
  for (const form of new Set([url, escapeHtml(url)])) {
    for (let at = html.indexOf(form); at !== -1; at = html.indexOf(form, at + 1)) {
      const after = html[at + form.length];
      if ((after === undefined || `"'> \t\r\n\f`.includes(after)) && HREF_BEFORE.test(html.slice(Math.max(0, at - 40), at))) return true;
    }
  }
  return false;
}

/**
 * One recipient's message: personalised bodies (rendered in the render pool, off the event loop),
 * tracked links, open pixel, unsubscribe link and headers. Throws TemplateTooExpensiveError or
 * TemplateRenderError when the template cannot be rendered within its budget.
 */
export async function composeMessage(
  pool: RenderPool,
  p: PreparedCampaign,
  r: Recipient,
  signer: TokenSigner,
  config: Config,
  opts: { preview?: boolean } = {},
): Promise<OutgoingMail> {
  const base = config.publicUrl;
  const claims = { organizationId: r.organizationId, messageId: r.messageId };
  const unsubscribeUrl = `${base}/api/unsubscribe/${signer.sign({ ...claims, kind: 'unsubscribe', link: 0 })}`;
  const rendered = await pool.render(r.organizationId, p.templates, { customer: customerVars(r.customer), campaign: { name: p.content.name }, unsubscribe_url: unsubscribeUrl });
  // A preview (test send) has no message row: original links, no pixel. A placeholder with no
  // link behind it (typed into the template by hand) stays as it is.
  const link = (i: string) => {
    const n = Number(i);
    if (n >= p.links.length) return null;
    return opts.preview ? p.links[n] : `${base}/api/t/click/${signer.sign({ ...claims, kind: 'click', link: n })}`;
  };
  let html = rendered.html.replace(PLACEHOLDER, (all, i: string) => {
    const url = link(i);
    return url === null ? all : escapeHtml(url);
  });
  let text = rendered.text.replace(PLACEHOLDER, (all, i: string) => link(i) ?? all);
  // Decided on what was rendered: the raw template may mention `unsubscribe_url` in a comment,
  // or print it where it is no link at all.
  if (!linksTo(html, unsubscribeUrl)) html += `<p style="font-size:12px;color:#888888"><a href="${escapeHtml(unsubscribeUrl)}">Unsubscribe</a></p>`;
  if (!text.includes(unsubscribeUrl)) text += `\n\nUnsubscribe: ${unsubscribeUrl}\n`;
  const pixel = `<img src="${base}/api/t/open/${signer.sign({ ...claims, kind: 'open', link: 0 })}" width="1" height="1" alt="" style="display:block;border:0;width:1px;height:1px">`;
  if (!opts.preview) html = /<\/body>/i.test(html) ? html.replace(/<\/body>/i, `${pixel}</body>`) : html + pixel;
  const fromEmail = p.content.fromEmail ?? config.email.from;
  return {
    organizationId: r.organizationId,
    id: r.messageId,
    from: fromHeader(p.content.fromName, fromEmail),
    to: r.toEmail,
    replyTo: p.content.replyTo,
    subject: rendered.subject,
    html,
    text,
    messageIdHeader: `<${r.messageId}@${fromEmail.split('@')[1] ?? 'switchboard.local'}>`,
    headers: {
      'List-Unsubscribe': `<${unsubscribeUrl}>`,
      'List-Unsubscribe-Post': 'List-Unsubscribe=One-Click',
      // Our id travels with the message so provider events find it: as a header, and as a
      // SendGrid unique argument (it comes back as a top-level key of every event).
      'X-Switchboard-Message-Id': r.messageId,
      'X-SMTPAPI': { prepared: true, value: JSON.stringify({ unique_args: { sb_message_id: r.messageId } }) },
    },
  };
}
