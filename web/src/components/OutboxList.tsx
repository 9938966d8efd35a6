import type { ReactNode } from 'react';

/**
 * The message list of an outbox tab (email, SMS and calls, account mail): one button per message, the
 * selected one marked, and the newest/older pager over the API's cursor.
 */
export function OutboxList<T extends { id: string }>(props: {
  label: string;
  items: T[];
  current: string | null;
  onSelect: (id: string) => void;
  title: (m: T) => ReactNode;
  meta: (m: T) => ReactNode;
  cursor: string | undefined;
  nextCursor: string | null | undefined;
  onCursor: (cursor: string | undefined) => void;
}) {
  const { label, items, current, onSelect, title, meta, cursor, nextCursor, onCursor } = props;
  return (
    <div className="card outbox-list">
      <ul aria-label={label}>
        {items.map((m) => (
          <li key={m.id}>
            <button type="button" className={m.id === current ? 'is-selected' : ''} aria-current={m.id === current || undefined} onClick={() => onSelect(m.id)}>
              <span className="outbox-subject">{title(m)}</span>
              <span className="outbox-meta">{meta(m)}</span>
            </button>
          </li>
        ))}
      </ul>
      <nav className="pager" aria-label={`Pages of ${label.toLowerCase()}`}>
        {cursor ? <button type="button" className="btn btn-ghost" onClick={() => onCursor(undefined)}>← Newest</button> : <span />}
        {nextCursor && <button type="button" className="btn btn-secondary" onClick={() => onCursor(nextCursor)}>Older →</button>}
      </nav>
    </div>
  );
}

/** A message's headers as the outbox views show them above its content. */
export function MailHeaders({ headers }: { headers: { subject?: string; from?: string; to?: string; date?: string } }) {
  return (
    <dl className="props mail-headers">
      <dt>Subject</dt><dd>{headers.subject}</dd>
      <dt>From</dt><dd>{headers.from}</dd>
      <dt>To</dt><dd>{headers.to}</dd>
      <dt>Date</dt><dd>{headers.date}</dd>
    </dl>
  );
}
