const ENTITIES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };
export const escapeText = (s: string) => s.replace(/[&<>"']/g, (c) => ENTITIES[c]);

/** A small standalone HTML page for the public token routes (unsubscribe, sender confirmation). `body` is trusted HTML. */
export const page = (title: string, body: string) =>
  `<!doctype html><html><head><meta charset="utf-8"><meta name="viewport" content="width=device-width"><title>${escapeText(title)}</title>` +
  `<style>body{font-family:system-ui,sans-serif;max-width:32rem;margin:4rem auto;padding:0 1rem;color:#222}button{font-size:1rem;padding:.5rem 1rem}</style></head>` +
  `<body><h1>${escapeText(title)}</h1>${body}</body></html>`;
