import type { Config } from '../../config.js';
import type { OutgoingMail } from './mailer.js';
import { compileCampaign, customerVars, escapeHtml, htmlToText, renderCampaign, type CompiledCampaign } from './templates.js';
import type { TokenSigner } from './tokens.js';

const LINK = /(<a\b[^>]*?\shref\s*=\s*)(["'])(https?:\/\/[^"'\s<>]+)\2/gi;
const PLACEHOLDER = /%%sb-link-(\d+)%%/g;
const decodeAttr = (s: string) => s.replace(/&amp;/g, '&').replace(/&#39;/g, "'").replace(/&quot;/g, '"');

/**
 * Replaces every plain http(s) link of the HTML template by a placeholder and returns the
 * original URLs in order. Deterministic: the same HTML gives the same list, which is frozen
 * on the campaign when its send starts. Links built with Liquid are left as they are.
 */
export function extractLinks(html: string): { html: string; links: string[] } {
  const links: string[] = [];
  const out = html.replace(LINK, (all, pre: string, q: string, url: string) => {
    if (url.includes('{')) return all;
    const u = decodeAttr(url);
    let i = links.indexOf(u);
    if (i < 0) i = links.push(u) - 1;
    return `${pre}${q}%%sb-link-${i}%%${q}`;
  });
  return { html: out, links };
}

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
  compiled: CompiledCampaign;
  links: string[];
  hasUnsubscribeVar: boolean;
}

const PLAIN_HEADINGS = ['h1', 'h2', 'h3', 'h4', 'h5', 'h6'].map((selector) => ({ selector, options: { uppercase: false } }));

/** Parses the templates once per send; a text body, when not given, is derived from the HTML template once too. */
export function prepareCampaign(c: CampaignContent): PreparedCampaign {
  const { html, links } = extractLinks(c.html);
  let text = c.text;
  if (text === null) {
    const derived = htmlToTextTemplate(html);
    text = derived;
  }
  let compiled: CompiledCampaign;
  try {
    compiled = compileCampaign({ subject: c.subject, preheader: c.preheader, html, text });
  } catch {
    // The derived text did not survive as Liquid: derive it from each rendered body instead.
    compiled = compileCampaign({ subject: c.subject, preheader: c.preheader, html, text: c.text });
  }
  return { content: c, compiled, links, hasUnsubscribeVar: /unsubscribe_url/.test(c.html) };
}

function htmlToTextTemplate(html: string) {
  return htmlToText(html, { wordwrap: false, selectors: [{ selector: 'img', format: 'skip' }, ...PLAIN_HEADINGS] } as any);
}

export interface Recipient {
  messageId: string;
  organizationId: string;
  toEmail: string;
  customer: { email: string | null; firstName: string | null; lastName: string | null; phone?: string | null; tags?: string[]; attributes?: Record<string, unknown> };
}

const fromHeader = (name: string | null, email: string) => (name ? `"${name.replace(/["\\]/g, '')}" <${email}>` : email);

/** One recipient's message: personalised bodies, tracked links, open pixel, unsubscribe link and headers. */
export function composeMessage(p: PreparedCampaign, r: Recipient, signer: TokenSigner, config: Config, opts: { preview?: boolean } = {}): OutgoingMail {
  const base = config.publicUrl;
  const claims = { organizationId: r.organizationId, messageId: r.messageId };
  const unsubscribeUrl = `${base}/api/unsubscribe/${signer.sign({ ...claims, kind: 'unsubscribe', link: 0 })}`;
  const rendered = renderCampaign(p.compiled, { customer: customerVars(r.customer), campaign: { name: p.content.name }, unsubscribe_url: unsubscribeUrl });
  // A preview (test send) has no message row: original links, no pixel.
  const link = (i: string) =>
    opts.preview ? p.links[Number(i)] : `${base}/api/t/click/${signer.sign({ ...claims, kind: 'click', link: Number(i) })}`;
  let html = rendered.html.replace(PLACEHOLDER, (_, i: string) => escapeHtml(link(i)));
  let text = rendered.text.replace(PLACEHOLDER, (_, i: string) => link(i));
  if (!p.hasUnsubscribeVar) {
    html += `<p style="font-size:12px;color:#888888"><a href="${unsubscribeUrl}">Unsubscribe</a></p>`;
    text += `\n\nUnsubscribe: ${unsubscribeUrl}\n`;
  }
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
