// Link tracking placeholders, shared by the main thread (signing links) and the render worker.

// `[^<>]` (not `[^>]`) keeps the scan linear: each `<a` start looks no further than the next tag,
// so a body of thousands of unclosed `<a ` cannot make the match quadratic.
const LINK = /(<a\b[^<>]*?\shref\s*=\s*)(["'])(https?:\/\/[^"'\s<>]+)\2/gi;
export const PLACEHOLDER = /%%sb-link-(\d+)%%/g;
const decodeAttr = (s: string) => s.replace(/&amp;/g, '&').replace(/&#39;/g, "'").replace(/&quot;/g, '"');

/**
 * Replaces every plain http(s) link of the HTML template by a placeholder and returns the
 * original URLs in order. Deterministic: the same HTML gives the same list, which is frozen
 * on the campaign when its send starts. Links built with Liquid are left as they are.
 */
export function extractLinks(html: string): { html: string; links: string[] } {
  const links: string[] = [];
  const index = new Map<string, number>();
  const out = html.replace(LINK, (all, pre: string, q: string, url: string) => {
    if (url.includes('{')) return all;
    const u = decodeAttr(url);
    let i = index.get(u);
    if (i === undefined) index.set(u, (i = links.push(u) - 1));
    return `${pre}${q}%%sb-link-${i}%%${q}`;
  });
  return { html: out, links };
}
