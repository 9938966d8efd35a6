import { z } from 'zod';
import { htmlPageHeaders } from '../http/security-headers.js';
import { escapeHtml } from './html.js';


// The pages' only style; their Content-Security-Policy allows exactly this stylesheet (by hash) and no script.
const PAGE_CSS = 'body{font-family:system-ui,sans-serif;max-width:32rem;margin:4rem auto;padding:0 1rem;color:#222}button{font-size:1rem;padding:.5rem 1rem}';
/** Route options (`helmet:`) for every route that answers with `page()`. */
export const pageHeaders = htmlPageHeaders(PAGE_CSS);

/** A small standalone HTML page for the public token routes (unsubscribe, sender confirmation). `body` is trusted HTML. */
export const page = (title: string, body: string) =>
  `<!doctype html><html><head><meta charset="utf-8"><meta name="viewport" content="width=device-width"><title>${escapeHtml(title)}</title>` +
  `<style>${PAGE_CSS}</style></head>` +
  `<body><h1>${escapeHtml(title)}</h1>${body}</body></html>`;

/** An HTML answer in a route's `response` schema (documented as text/html, sent as it is). */
export const htmlResponse = (description: string) => ({ description, content: { 'text/html': { schema: z.string() } } });
