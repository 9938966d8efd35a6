// Test support for voice: a small XML parser for TwiML (no XML parser is installed; TwiML is
// plain elements, double-quoted attributes and text), and Twilio-signed webhook requests.
import twilio from 'twilio';
import type { App } from '../src/http/types.js';

export interface XmlElement {
  name: string;
  attrs: Record<string, string>;
  children: XmlElement[];
  text: string;
}

const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };
const decode = (s: string) =>
  s.replace(/&(#x[0-9a-f]+|#\d+|\w+);/gi, (m, e: string) =>
    e[0] === '#' ? String.fromCodePoint(e[1].toLowerCase() === 'x' ? parseInt(e.slice(2), 16) : parseInt(e.slice(1), 10)) : (ENTITIES[e] ?? m),
  );

/** Parses an XML document into its root element; throws on anything malformed. */
export function parseXml(xml: string): XmlElement {
  let i = 0;
  const src = xml.replace(/^\s*<\?xml[^?]*\?>/, '');
  const fail = (why: string): never => {
    throw new Error(`bad XML at ${i}: ${why} in ${xml}`);
  };
  function element(): XmlElement {
    const open = /^<([A-Za-z][\w.-]*)((?:\s+[\w:.-]+="[^"]*")*)\s*(\/?)>/.exec(src.slice(i));
    if (!open) fail('expected an element');
    i += open![0].length;
    const attrs: Record<string, string> = {};
    for (const m of open![2].matchAll(/([\w:.-]+)="([^"]*)"/g)) attrs[m[1]] = decode(m[2]);
    const el: XmlElement = { name: open![1], attrs, children: [], text: '' };
    if (open![3]) return el;
    for (;;) {
      const lt = src.indexOf('<', i);
      if (lt < 0) fail(`unclosed <${el.name}>`);
      el.text += decode(src.slice(i, lt));
      i = lt;
      if (src.startsWith(`</${el.name}>`, i)) {
        i += el.name.length + 3;
        return el;
      }
      if (src.startsWith('</', i)) fail(`mismatched close of <${el.name}>`);
      el.children.push(element());
    }
  }
  const root = element();
  if (src.slice(i).trim()) fail('content after the root');
  return root;
}

/** The TwiML verbs of a response, as a list: each element's name, attributes, text and nested verbs. */
export function twimlOf(body: string) {
  const root = parseXml(body);
  if (root.name !== 'Response') throw new Error(`TwiML root is <${root.name}>`);
  return root.children;
}

/** A compact picture of TwiML verbs, for readable assertions: ['Say:Hello', 'Gather[Say:Press 1]', 'Hangup']. */
export function outline(verbs: XmlElement[]): string[] {
  return verbs.map((v) => (v.children.length ? `${v.name}[${outline(v.children).join(', ')}]` : v.text.trim() ? `${v.name}:${v.text.trim()}` : v.name));
}

/**
 * Posts a form-encoded webhook as Twilio would: signed with the auth token over the full public URL
 * Twilio called (query string included) and the POST parameters, with the SDK's own function.
 */
export async function postSigned(app: App, opts: { publicUrl: string; path: string; authToken: string; params: Record<string, string>; signature?: string }) {
  const url = `${opts.publicUrl}${opts.path}`;
  const signature = opts.signature ?? twilio.getExpectedTwilioSignature(opts.authToken, url, opts.params);
  return app.inject({
    method: 'POST',
    url: opts.path,
    headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-twilio-signature': signature },
    payload: new URLSearchParams(opts.params).toString(),
  });
}
