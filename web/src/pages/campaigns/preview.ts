// Live preview in the browser with the same template language and settings as the server's renderer
// (liquidjs, HTML output escaped, own properties only, strict filters, no partials). The test send is
// the exact rendering; this one is for typing. Loaded only by the editor (its own chunk).
import { Liquid } from 'liquidjs';

const common = { ownPropertyOnly: true, strictFilters: true, relativeReference: false, parseLimit: 1024 * 1024, renderLimit: 500 } as const;
const html = new Liquid({ ...common, outputEscape: 'escape' });
const text = new Liquid({ ...common });

export interface PreviewCustomer {
  email: string | null;
  firstName: string | null;
  lastName: string | null;
  phone: string | null;
  tags: string[];
  attributes: Record<string, unknown>;
}

export async function renderPreview(t: { subject: string; html: string; name: string }, customer: PreviewCustomer) {
  const vars = { customer, campaign: { name: t.name }, unsubscribe_url: '#unsubscribe' };
  const [subject, body] = await Promise.all([text.parseAndRender(t.subject, vars), html.parseAndRender(t.html, vars)]);
  return { subject, html: body };
}

/** A plain-text template (an SMS body) for one customer. */
export async function renderTextPreview(template: string, customer: PreviewCustomer, name: string) {
  return text.parseAndRender(template, { customer, campaign: { name }, unsubscribe_url: '' });
}
