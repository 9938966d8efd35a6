import { Marked } from 'marked';
import sanitizeHtml from 'sanitize-html';

// An article is tenant content shown on a public page: its Markdown is rendered by marked (raw HTML in the
// Markdown included) and the result passes sanitize-html's allow-list before it is stored. Nothing outside
// the list survives: no script, style, iframe, form or SVG, no event handler or style attribute, no
// javascript:, data: or vbscript: URL. The help center's Content-Security-Policy refuses scripts besides.

const marked = new Marked({ gfm: true, breaks: false, async: false });

const ALLOWED: sanitizeHtml.IOptions = {
  allowedTags: [
    'h2', 'h3', 'h4', 'h5', 'h6', 'p', 'br', 'hr', 'blockquote', 'pre', 'code', 'em', 'strong', 'del', 's', 'sup', 'sub', 'kbd',
    'ul', 'ol', 'li', 'a', 'img', 'table', 'thead', 'tbody', 'tr', 'th', 'td', 'input',
  ],
  allowedAttributes: {
    a: ['href', 'title', 'rel'],
    img: ['src', 'alt', 'title', 'width', 'height'],
    ol: ['start'],
    th: ['align'],
    td: ['align'],
    code: ['class'],
    // GitHub task lists: marked renders disabled checkboxes; anything else about an input is dropped.
    input: ['type', 'checked', 'disabled'],
  },
  allowedClasses: { code: [/^language-[a-z0-9_+-]{1,30}$/] },
  allowedSchemes: ['http', 'https', 'mailto'],
  allowedSchemesByTag: { img: ['http', 'https'] },
  allowedSchemesAppliedToAttributes: ['href', 'src'],
  allowProtocolRelative: false,
  disallowedTagsMode: 'discard',
  // The page's <h1> is the article's title: headings in the body start at level 2.
  transformTags: {
    h1: 'h2',
    a: (tagName, attribs) => ({ tagName, attribs: { ...attribs, rel: 'nofollow noopener ugc' } }),
    input: (tagName, attribs) => (attribs.type === 'checkbox' ? { tagName, attribs: { type: 'checkbox', disabled: '', ...('checked' in attribs && { checked: '' }) } } : { tagName: 'span', attribs: {} }),
  },
  exclusiveFilter: (frame) => frame.tag === 'span' && !frame.text.trim(),
};

/** The article body as stored and served: Markdown → HTML → the allow-list above. */
export function renderMarkdown(markdown: string): string {
  const html = marked.parse(markdown) as string;
  return sanitizeHtml(html, ALLOWED);
}

const BLOCK_END = /<\/(p|h[1-6]|li|td|th|tr|pre|blockquote|table|ul|ol)>|<br\s*\/?>|<hr\s*\/?>/gi;
const ENTITIES: Record<string, string> = { '&amp;': '&', '&lt;': '<', '&gt;': '>', '&quot;': '"', '&#39;': "'", '&#x27;': "'" };

/**
 * The plain text of sanitized HTML (what is indexed and snippeted), blocks separated by a newline.
 * Control characters are removed: the search highlighter marks matches with two of them.
 */
export function plainText(html: string): string {
  const separated = html.replace(BLOCK_END, (m) => `${m}\n`);
  const text = sanitizeHtml(separated, { allowedTags: [], allowedAttributes: {} }).replace(/&(amp|lt|gt|quot|#39|#x27);/g, (m) => ENTITIES[m]);
  // eslint-disable-next-line no-control-regex
  return text.replace(/[\u0000-\u0008\u000b-\u001f\u007f]/g, '').replace(/[ \t]+/g, ' ').replace(/\n\s*\n+/g, '\n').trim();
}
