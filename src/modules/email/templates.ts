import { convert } from 'html-to-text';
import { Liquid, type Template } from 'liquidjs';

// Campaign bodies are Liquid. No file system (include/render/layout see an empty in-memory map),
// no prototype access, and limits against templates that would loop or allocate without end.
const common = {
  templates: {},
  ownPropertyOnly: true,
  strictFilters: true,
  parseLimit: 1_000_000,
  renderLimit: 1_000_000,
  memoryLimit: 64 * 1024 * 1024,
};
/** HTML bodies: every output is HTML-escaped unless a template says `| raw`. */
const htmlEngine = new Liquid({ ...common, outputEscape: 'escape' });
/** Subject, preheader and text bodies are plain text. */
const textEngine = new Liquid(common);

/** The parse error of a template, or null when it is valid (a template error is a 400 at save time). */
export function templateError(source: string, kind: 'html' | 'text' = 'text'): string | null {
  try {
    (kind === 'html' ? htmlEngine : textEngine).parse(source);
    return null;
  } catch (err) {
    return (err as Error).message.split('\n')[0].slice(0, 300);
  }
}

export interface RenderVars {
  customer: Record<string, unknown>;
  campaign: { name: string };
  unsubscribe_url: string;
}

export interface CompiledCampaign {
  subject: Template[];
  preheader: Template[] | null;
  html: Template[];
  text: Template[] | null;
}

export function compileCampaign(c: { subject: string; preheader: string | null; html: string; text: string | null }): CompiledCampaign {
  return {
    subject: textEngine.parse(c.subject),
    preheader: c.preheader ? textEngine.parse(c.preheader) : null,
    html: htmlEngine.parse(c.html),
    text: c.text ? textEngine.parse(c.text) : null,
  };
}

export interface Rendered {
  subject: string;
  html: string;
  text: string;
}

export function renderCampaign(t: CompiledCampaign, vars: RenderVars): Rendered {
  const subject = String(textEngine.renderSync(t.subject, vars)).replace(/[\r\n]+/g, ' ').trim();
  let html = String(htmlEngine.renderSync(t.html, vars));
  const text = t.text ? String(textEngine.renderSync(t.text, vars)) : htmlToText(html);
  if (t.preheader) {
    const pre = escapeHtml(String(textEngine.renderSync(t.preheader, vars)));
    // The preheader is the hidden first text of the body, which inboxes show after the subject.
    html = `<div style="display:none;max-height:0;overflow:hidden">${pre}</div>${html}`;
  }
  return { subject, html, text };
}

export const htmlToText = (html: string, options?: Parameters<typeof convert>[1]) =>
  convert(html, options ?? { wordwrap: 100, selectors: [{ selector: "img", format: "skip" }] });

export const escapeHtml = (s: string) =>
  s.replace(/[&<>"']/g, (ch) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[ch]!);

/** The customer fields a template may use (`{{ customer.firstName }}`). */
export function customerVars(c: {
  email: string | null;
  firstName: string | null;
  lastName: string | null;
  phone?: string | null;
  tags?: string[];
  attributes?: Record<string, unknown>;
}) {
  return {
    email: c.email,
    firstName: c.firstName,
    lastName: c.lastName,
    phone: c.phone ?? null,
    tags: c.tags ?? [],
    attributes: c.attributes ?? {},
  };
}
