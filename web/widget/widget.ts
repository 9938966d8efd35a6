// Switchboard's web-chat widget: one classic script an organization embeds on its site.
//   <script src="https://HOST/widget.js" data-site-token="…" async></script>
// Optional identity, signed by the organization's server with the inbox's identity secret:
//   data-user-id="42" (or data-email="ada@example.com") data-user-hash="<hex HMAC-SHA256 of it>"
// It talks to the widget API on the origin it was loaded from, with the visitor's signed cookie
// (credentials) and the site token as `x-site-token`. Browsers that block third-party cookies (Safari,
// Firefox's strict mode) drop that cookie, so the same signed value is also kept in the host page's
// localStorage and sent as `x-visitor-token`: the visitor keeps their conversation across pages. Plain DOM in a shadow root (no framework, the
// host page's styles kept out); every text from the network is set as text, never parsed as HTML.
import { CSS } from './styles';

interface Message {
  id: string;
  direction: 'inbound' | 'outbound';
  authorType?: 'customer' | 'agent' | 'system';
  authorName?: string | null;
  body: string;
  createdAt?: string;
}
interface Conversation {
  id: string;
  status: string;
  csatScore?: number | null;
}
interface Session {
  visitorId: string;
  visitorToken: string;
  identified: boolean;
  inbox: { name: string; greeting: string | null; online: boolean; csatEnabled?: boolean };
  helpCenterUrl: string | null;
}
interface Article {
  id?: string;
  title: string;
  url?: string;
  slug?: string;
  snippet?: string;
  description?: string;
}

const script = (document.currentScript ?? document.querySelector('script[data-site-token]')) as HTMLScriptElement | null;

/** Element factory: attributes (and `on…` listeners), then children; strings become text nodes. */
function h<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Record<string, unknown> = {}, ...kids: (Node | string | null)[]): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on')) el.addEventListener(k.slice(2), v as EventListener);
    else if (k === 'text') el.textContent = String(v);
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of kids) if (c !== null) el.append(c);
  return el;
}

const ICON = '<svg viewBox="0 0 24 24" aria-hidden="true" focusable="false"><path d="M4 4h16a2 2 0 0 1 2 2v10a2 2 0 0 1-2 2H8l-4 4V6a2 2 0 0 1 2-2z"/></svg>';
const SCORES = ['Very poor', 'Poor', 'Okay', 'Good', 'Excellent'];

function start(tag: HTMLScriptElement) {
  const token = tag.dataset.siteToken;
  if (!token) return console.warn('Switchboard widget: the script tag has no data-site-token');
  const origin = new URL(tag.src, location.href).origin;

  // The visitor token in the host page's storage (unavailable in some private modes: then the cookie alone).
  const storeKey = `switchboard-visitor:${token}`;
  const stored = {
    get: () => { try { return localStorage.getItem(storeKey); } catch { return null; } },
    set: (v: string) => { try { localStorage.setItem(storeKey, v); } catch { /* the cookie alone */ } },
  };
  const headers = (extra: Record<string, string> = {}) => {
    const visitor = stored.get();
    return { 'x-site-token': token!, ...(visitor ? { 'x-visitor-token': visitor } : {}), ...extra };
  };

  async function call<T>(method: string, path: string, body?: unknown): Promise<T> {
    const res = await fetch(origin + path, {
      method,
      credentials: 'include',
      headers: headers(body === undefined ? {} : { 'content-type': 'application/json' }),
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const data = res.status === 204 ? null : await res.json().catch(() => null);
    if (!res.ok) throw new Error((data && typeof data.error === 'string' && data.error) || `Request failed (${res.status})`);
    return data as T;
  }

  // ---- The DOM -----------------------------------------------------------------------------------
  const host = h('div', { 'data-switchboard-widget': '' });
  const root = host.attachShadow({ mode: 'open' });
  if ('adoptedStyleSheets' in root && typeof CSSStyleSheet === 'function' && 'replaceSync' in CSSStyleSheet.prototype) {
    const sheet = new CSSStyleSheet();
    sheet.replaceSync(CSS);
    root.adoptedStyleSheets = [sheet];
  } else root.append(h('style', { text: CSS }));

  const ids = { panel: 'sb-panel', title: 'sb-title', status: 'sb-status', input: 'sb-input' };
  const badge = h('span', { class: 'badge', hidden: true, 'aria-hidden': 'true' });
  const launcher = h('button', { type: 'button', class: 'launcher', 'aria-expanded': 'false', 'aria-controls': ids.panel, 'aria-label': 'Chat with us' }, badge);
  launcher.insertAdjacentHTML('afterbegin', ICON);
  const title = h('h2', { id: ids.title, text: 'Chat with us' });
  const status = h('p', { id: ids.status, class: 'status' });
  const close = h('button', { type: 'button', class: 'close', 'aria-label': 'Close chat', text: '×' });
  const greeting = h('p', { class: 'greeting', hidden: true });
  const log = h('ol', { class: 'log' });
  const logRegion = h('div', { role: 'log', 'aria-live': 'polite', 'aria-label': 'Messages' }, log);
  const articlesHeading = h('h3', { id: 'sb-articles', text: 'Suggested articles' });
  const articles = h('ul', { class: 'articles', 'aria-labelledby': 'sb-articles' });
  const articleBox = h('div', { class: 'suggest', hidden: true }, articlesHeading, articles);
  const csat = h('div', { hidden: true });
  const body = h('div', { class: 'body' }, greeting, logRegion, articleBox, csat);
  const input = h('textarea', { id: ids.input, rows: 1, maxlength: 4000, placeholder: 'Write a message…' });
  const inputLabel = h('label', { for: ids.input, class: 'sr', text: 'Your message' });
  const send = h('button', { type: 'submit', class: 'send', text: 'Send' });
  const error = h('p', { class: 'err', role: 'alert', hidden: true });
  const form = h('form', { class: 'form' }, inputLabel, input, send);
  const panel = h('div', { id: ids.panel, class: 'panel', role: 'dialog', 'aria-labelledby': ids.title, 'aria-describedby': ids.status, hidden: true },
    h('div', { class: 'head' }, h('div', {}, title, status), close), body, error, form);
  root.append(panel, launcher);
  document.body.append(host);

  // ---- State -------------------------------------------------------------------------------------
  let session: Session | null = null;
  let sessionPromise: Promise<Session> | null = null;
  let conversation: Conversation | null = null;
  const shown = new Set<string>();
  let unread = 0;
  let live = false;
  let retry = 1000;

  const isOpen = () => !panel.hidden;
  const showError = (err: unknown) => {
    error.textContent = err ? (err instanceof Error ? err.message : String(err)) : '';
    error.hidden = !err;
  };
  const scrollDown = () => (body.scrollTop = body.scrollHeight);

  function setUnread(n: number) {
    unread = n;
    badge.textContent = String(n);
    badge.hidden = n === 0;
    launcher.setAttribute('aria-label', n ? `Chat with us (${n} new message${n === 1 ? '' : 's'})` : 'Chat with us');
  }

  function open() {
    panel.hidden = false;
    launcher.setAttribute('aria-expanded', 'true');
    setUnread(0);
    scrollDown();
    input.focus();
    void ensureSession();
  }
  function shut() {
    panel.hidden = true;
    launcher.setAttribute('aria-expanded', 'false');
    launcher.focus();
  }
  launcher.addEventListener('click', () => (isOpen() ? shut() : open()));
  close.addEventListener('click', shut);
  panel.addEventListener('keydown', (e) => {
    if (e.key === 'Escape') {
      e.preventDefault();
      shut();
    }
  });

  function addMessage(m: Message) {
    if (shown.has(m.id)) return;
    shown.add(m.id);
    const mine = m.direction === 'inbound';
    const sys = m.authorType === 'system';
    const who = mine ? 'You' : sys ? '' : m.authorName || session?.inbox.name || 'Support';
    log.append(h('li', { class: `msg ${sys ? 'sys' : mine ? 'in' : 'out'}` }, who ? h('span', { class: mine ? 'sr' : 'who', text: `${who}${mine ? ': ' : ''}` }) : null, m.body));
    if (!mine && !isOpen()) setUnread(unread + 1);
    scrollDown();
  }

  function renderStatus() {
    if (!session) return;
    title.textContent = session.inbox.name;
    status.className = session.inbox.online ? 'status on' : 'status';
    status.replaceChildren(h('span', { class: 'dot', 'aria-hidden': 'true' }), session.inbox.online ? 'Online: we usually reply in a few minutes' : 'Offline: leave a message and we will reply by email');
    greeting.textContent = session.inbox.greeting ?? '';
    greeting.hidden = !session.inbox.greeting;
  }

  function renderCsat() {
    const c = conversation;
    const ask = !!c && c.status === 'resolved' && (c.csatScore === null || c.csatScore === undefined) && session?.inbox.csatEnabled !== false;
    csat.hidden = !ask && !csat.dataset.thanks;
    if (!ask) return;
    delete csat.dataset.thanks;
    const buttons = SCORES.map((label, i) =>
      h('button', { type: 'button', 'aria-label': `${i + 1}: ${label}`, title: label, text: String(i + 1), onclick: () => rate(i + 1) }),
    );
    csat.replaceChildren(h('fieldset', { class: 'csat' }, h('legend', { text: 'How would you rate this conversation?' }), h('div', { class: 'scores' }, ...buttons)));
    scrollDown();
  }

  async function rate(score: number) {
    if (!conversation) return;
    try {
      await call('POST', `/api/widget/conversations/${conversation.id}/csat`, { score });
      conversation.csatScore = score;
      csat.dataset.thanks = '1';
      csat.replaceChildren(h('p', { class: 'csat', role: 'status', text: 'Thank you for your feedback.' }));
      // The live update of this very answer may arrive before the response and hide the question.
      csat.hidden = false;
      showError(null);
      input.focus();
    } catch (err) {
      showError(err);
    }
  }

  async function loadMessages() {
    if (!conversation) return;
    const page = await call<{ data: Message[] }>('GET', `/api/widget/conversations/${conversation.id}/messages`);
    // Oldest first on screen, whatever order the page came in.
    const sorted = [...page.data].sort((a, b) => String(a.createdAt ?? '').localeCompare(String(b.createdAt ?? '')));
    for (const m of sorted) addMessage(m);
  }

  async function ensureSession(): Promise<Session> {
    sessionPromise ??= (async () => {
      const d = tag.dataset;
      const identity = d.userHash && (d.userId || d.email) ? { ...(d.userId ? { userId: d.userId } : { email: d.email }), userHash: d.userHash } : {};
      const s = await call<Session>('POST', '/api/widget/session', { siteToken: token, ...identity });
      session = s;
      stored.set(s.visitorToken);
      renderStatus();
      // The visitor's latest conversation comes back after a page load: its thread, and live replies.
      const list = await call<{ data: Conversation[] }>('GET', '/api/widget/conversations');
      const latest = list.data[0];
      if (latest) {
        conversation = latest;
        await loadMessages();
        renderCsat();
        connect();
      }
      return s;
    })().catch((err) => {
      sessionPromise = null;
      showError(err);
      throw err;
    });
    return sessionPromise;
  }

  // ---- Live replies: server-sent events, reconnected with backoff, missed messages fetched again ----
  // Read with fetch rather than EventSource: EventSource cannot send the x-site-token header that names
  // the inbox (and a token in the URL would end up in access logs).
  function onEvent(type: string, data: string) {
    const d = JSON.parse(data) as { conversationId: string; message?: Message; conversation?: Partial<Conversation> };
    if (!conversation || d.conversationId !== conversation.id) return;
    if (type === 'message.created' && d.message) addMessage(d.message);
    if (type === 'conversation.updated' && d.conversation) {
      conversation = { ...conversation, ...d.conversation };
      renderCsat();
    }
  }

  function connect() {
    if (live) return;
    live = true;
    void (async () => {
      let reconnecting = false;
      for (;;) {
        try {
          const res = await fetch(`${origin}/api/widget/live`, { credentials: 'include', cache: 'no-store', headers: headers({ accept: 'text/event-stream' }) });
          if (!res.ok || !res.body) throw new Error(`live: ${res.status}`);
          retry = 1000;
          // Events sent while the stream was down are not replayed: fetch the thread again.
          if (reconnecting) void loadMessages().catch(() => {});
          reconnecting = true;
          const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
          let buf = '';
          for (;;) {
            const { value, done } = await reader.read();
            if (done) break;
            buf += value.replace(/\r\n?/g, '\n');
            const blocks = buf.split('\n\n');
            buf = blocks.pop() ?? '';
            for (const block of blocks) {
              let type = 'message';
              const data: string[] = [];
              for (const line of block.split('\n')) {
                if (line.startsWith('event:')) type = line.slice(6).trim();
                else if (line.startsWith('data:')) data.push(line.slice(5).replace(/^ /, ''));
              }
              if (data.length) {
                try {
                  onEvent(type, data.join('\n'));
                } catch {
                  /* a malformed event is skipped */
                }
              }
            }
          }
        } catch {
          /* dropped or refused: try again below */
        }
        await new Promise((r) => setTimeout(r, retry));
        retry = Math.min(retry * 2, 30_000);
      }
    })();
  }

  // ---- Help-center suggestions while the visitor types, before a conversation starts ----------------
  let suggestTimer: ReturnType<typeof setTimeout> | undefined;
  let suggestSeq = 0;
  input.addEventListener('input', () => {
    clearTimeout(suggestTimer);
    const q = input.value.trim();
    if (conversation && conversation.status !== 'resolved') return;
    if (q.length < 3) {
      articleBox.hidden = true;
      return;
    }
    suggestTimer = setTimeout(async () => {
      const seq = ++suggestSeq;
      try {
        const res = await call<{ data: Article[] }>('GET', `/api/widget/articles?q=${encodeURIComponent(q)}`);
        if (seq !== suggestSeq) return;
        const base = session?.helpCenterUrl?.replace(/\/$/, '');
        const items = res.data.slice(0, 3).flatMap((a) => {
          const href = a.url ?? (base && a.slug ? `${base}/${a.slug}` : null);
          if (!href || !/^https?:/i.test(new URL(href, origin).protocol)) return [];
          const extra = a.snippet ?? a.description;
          return [h('li', {}, h('a', { href: new URL(href, origin).href, target: '_blank', rel: 'noopener' }, a.title, extra ? h('small', { text: extra.replace(/<[^>]*>/g, '') }) : null))];
        });
        articles.replaceChildren(...items);
        articleBox.hidden = items.length === 0;
      } catch {
        articleBox.hidden = true;
      }
    }, 250);
  });
  input.addEventListener('keydown', (e) => {
    if (e.key === 'Enter' && !e.shiftKey) {
      e.preventDefault();
      form.requestSubmit();
    }
  });

  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const text = input.value.trim();
    if (!text) return;
    send.disabled = true;
    try {
      await ensureSession();
      if (!conversation || conversation.status === 'resolved') {
        const r = await call<{ conversation: Conversation; message: Message }>('POST', '/api/widget/conversations', { body: text });
        conversation = r.conversation;
        csat.hidden = true;
        delete csat.dataset.thanks;
        articleBox.hidden = true;
        addMessage(r.message);
        connect();
      } else {
        addMessage(await call<Message>('POST', `/api/widget/conversations/${conversation.id}/messages`, { body: text }));
      }
      input.value = '';
      showError(null);
    } catch (err) {
      showError(err);
    } finally {
      send.disabled = false;
      input.focus();
    }
  });

  // Greeting and online status ready before the visitor opens the chat; a visitor with a conversation gets its replies.
  void ensureSession().catch(() => {});
}

if (script) {
  if (document.body) start(script);
  else document.addEventListener('DOMContentLoaded', () => start(script));
}
