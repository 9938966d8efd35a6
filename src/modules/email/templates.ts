import { convert } from 'html-to-text';
import { Liquid, toValue, type Context, type FS, type Template } from 'liquidjs';
import { escapeHtml } from '../../lib/html.js';
import { extractLinks } from './links.js';
import type { RecipientCustomer } from '../../channels/campaign-store.js';

// Campaign bodies are Liquid. Parsing and rendering run in the render worker (render-worker.ts),
// never on the event loop; the functions here are what that worker calls.

/**
 * No file system: include/render/layout find nothing. A plain object as the partials map would
 * answer `{% include "constructor" %}` with Object.prototype's members, so nothing is looked up.
 */
const noFiles: FS = {
  exists: async () => false,
  existsSync: () => false,
  readFile: async (file) => Promise.reject(new Error(`No partials or layouts: "${file}" cannot be included`)),
  readFileSync: (file) => {
    throw new Error(`No partials or layouts: "${file}" cannot be included`);
  },
  resolve: (_dir, file, ext) => file + ext,
  dirname: () => '',
  sep: '/',
};

const common = {
  fs: noFiles,
  relativeReference: false,
  ownPropertyOnly: true,
  strictFilters: true,
  // Longer than any template a campaign can save (512 KiB), and the parse is bounded in time by the worker.
  parseLimit: 1024 * 1024,
};

/** Liquid's own stringification of an output value. */
function stringify(value: unknown): string {
  const v = toValue(value);
  if (typeof v === 'string') return v;
  if (v === null || v === undefined) return '';
  if (Array.isArray(v)) return v.map(stringify).join('');
  return String(v);
}

/**
 * Every string a template emits, at any depth (loops, captures, partials), is charged to the
 * render's memory budget, which Liquid itself only charges for some filters. A template that
 * would print gigabytes stops at the budget instead.
 */
class ChargedEmitter {
  buffer = '';
  constructor(private readonly ctx: Context) {}
  write(html: unknown) {
    const s = stringify(html);
    this.ctx.memoryLimit.use(s.length);
    this.buffer += s;
  }
}

function engine(options: ConstructorParameters<typeof Liquid>[0]) {
  const liquid = new Liquid({ ...common, ...options });
  const renderer = liquid.renderer as unknown as { renderTemplates: (t: Template[], ctx: Context, emitter?: unknown) => unknown };
  const original = renderer.renderTemplates.bind(renderer);
  renderer.renderTemplates = (templates, ctx, emitter) => original(templates, ctx, emitter ?? new ChargedEmitter(ctx));
  return liquid;
}

/** HTML bodies: every output is HTML-escaped unless a template says `| raw`. */
const htmlEngine = engine({ outputEscape: 'escape' });
/** Subject, preheader and text bodies are plain text. */
const textEngine = engine({});

export type TemplateField = 'subject' | 'preheader' | 'html' | 'text';
const engineFor = (field: TemplateField) => (field === 'html' ? htmlEngine : textEngine);

/** A render that exceeded its time, output or memory budget (as opposed to a template error). */
export class TooExpensiveError extends Error {}

export interface Limits {
  /** performance.now() value after which the render stops. */
  deadline: number;
  timeoutMs: number;
  maxOutputBytes: number;
}

/** Liquid reports its limits as errors, sometimes wrapped in a RenderError: anything over a budget is "too expensive". */
export function isTooExpensive(err: unknown): boolean {
  for (let e: any = err, i = 0; e && i < 5; e = e.originalError ?? e.cause, i++) {
    if (e instanceof TooExpensiveError) return true;
    if (e instanceof RangeError && /string length|array length|allocation/i.test(e.message)) return true;
    if (typeof e.message === 'string' && /limit exceeded/.test(e.message)) return true;
  }
  return false;
}

export const firstLine = (err: unknown) => String((err as Error)?.message ?? err).split('\n')[0].slice(0, 300);

/** What a template ran out of, in the words the organization will read. */
export function describe(err: unknown, limits: Limits): string {
  if (!isTooExpensive(err)) return firstLine(err);
  const m = firstLine(err);
  if (/render limit/.test(m)) return `rendering took longer than ${limits.timeoutMs} ms`;
  if (/memory alloc|string length|array length|allocation/i.test(m)) return `rendering produced more than the ${limits.maxOutputBytes} bytes allowed`;
  return m;
}

export interface RenderVars {
  customer: Record<string, unknown>;
  campaign: { name: string };
  unsubscribe_url: string;
}

export interface CampaignSources {
  subject: string;
  preheader: string | null;
  html: string;
  text: string | null;
}

export interface CompiledCampaign {
  subject: Template[];
  preheader: Template[] | null;
  html: Template[];
  text: Template[] | null;
}

const PLAIN_HEADINGS = ['h1', 'h2', 'h3', 'h4', 'h5', 'h6'].map((selector) => ({ selector, options: { uppercase: false } }));

/**
 * Parses a campaign's templates once per send: links become placeholders, and a text body, when
 * not given, is derived from the HTML template (or, when that derived text is not valid Liquid,
 * from each rendered HTML body instead).
 */
export function compileCampaign(c: CampaignSources): CompiledCampaign {
  const { html } = extractLinks(c.html);
  const compiled = {
    subject: textEngine.parse(c.subject),
    preheader: c.preheader ? textEngine.parse(c.preheader) : null,
    html: htmlEngine.parse(html),
    text: c.text ? textEngine.parse(c.text) : null,
  };
  if (c.text === null) compiled.text = derivedText(html);
  return compiled;
}

/** The text body derived from the HTML template once, or null when that text is not valid Liquid. */
function derivedText(html: string): Template[] | null {
  const derived = htmlToText(html, { wordwrap: false, selectors: [{ selector: 'img', format: 'skip' }, ...PLAIN_HEADINGS] } as any);
  try {
    return textEngine.parse(derived);
  } catch {
    return null;
  }
}

function renderPart(field: TemplateField, t: Template[], vars: RenderVars, limits: Limits): string {
  const renderLimit = limits.deadline - performance.now();
  if (renderLimit <= 0) throw new TooExpensiveError(`rendering took longer than ${limits.timeoutMs} ms`);
  // Every emitted character is charged: a few times the output cap leaves room for captures and filters.
  return stringify(engineFor(field).renderSync(t, vars, { renderLimit, memoryLimit: limits.maxOutputBytes * 4 }));
}

export interface Rendered {
  subject: string;
  html: string;
  text: string;
}

export function renderCampaign(t: CompiledCampaign, vars: RenderVars, limits: Limits): Rendered {
  const subject = renderPart('subject', t.subject, vars, limits).replace(/[\r\n]+/g, ' ').trim();
  let html = renderPart('html', t.html, vars, limits);
  assertSize(subject.length + html.length, limits);
  const text = t.text ? renderPart('text', t.text, vars, limits) : htmlToText(html);
  if (t.preheader) {
    const pre = escapeHtml(renderPart('preheader', t.preheader, vars, limits));
    // The preheader is the hidden first text of the body, which inboxes show after the subject.
    html = `<div style="display:none;max-height:0;overflow:hidden">${pre}</div>${html}`;
  }
  assertSize(Buffer.byteLength(subject) + Buffer.byteLength(html) + Buffer.byteLength(text), limits);
  return { subject, html, text };
}

function assertSize(bytes: number, limits: Limits) {
  if (bytes > limits.maxOutputBytes) throw new TooExpensiveError(`rendering produced more than the ${limits.maxOutputBytes} bytes allowed`);
}

export type CheckIssue = { path: TemplateField; message: string; tooExpensive: boolean };

/**
 * What saving these templates would run into: a syntax error, an error or a budget overrun when
 * rendered for a customer with empty fields. The whole check shares one time budget.
 */
export function checkTemplates(fields: Partial<CampaignSources>, vars: RenderVars, limits: Limits): CheckIssue[] {
  const issues: CheckIssue[] = [];
  for (const path of ['subject', 'preheader', 'html', 'text'] as const) {
    const source = fields[path];
    if (typeof source !== 'string') continue;
    const template = path === 'html' ? extractLinks(source).html : source;
    let compiled: Template[];
    try {
      compiled = engineFor(path).parse(template);
    } catch (err) {
      issues.push({ path, message: `Invalid Liquid template: ${describe(err, limits)}`, tooExpensive: isTooExpensive(err) });
      continue;
    }
    try {
      const out = renderPart(path, compiled, vars, limits);
      assertSize(Buffer.byteLength(out), limits);
      // What a send would also do with the HTML: derive the text body from it.
      if (path === 'html' && fields.text == null) derivedText(template);
    } catch (err) {
      const tooExpensive = isTooExpensive(err);
      issues.push({ path, message: tooExpensive ? `Template too expensive: ${describe(err, limits)}` : `The template cannot be rendered: ${firstLine(err)}`, tooExpensive });
    }
  }
  return issues;
}

export const htmlToText = (html: string, options?: Parameters<typeof convert>[1]) =>
  convert(html, options ?? { wordwrap: 100, selectors: [{ selector: 'img', format: 'skip' }] });


/** The customer fields a template may use (`{{ customer.firstName }}`). */
export function customerVars(c: RecipientCustomer) {
  return {
    email: c.email,
    firstName: c.firstName,
    lastName: c.lastName,
    phone: c.phone ?? null,
    tags: c.tags ?? [],
    attributes: c.attributes ?? {},
  };
}
