import { useState } from 'react';

/** Cursor pagination state for a list: `{ data, nextCursor }` pages, first page and next page. */
export function useCursor() {
  const [cursor, setCursor] = useState<string | undefined>();
  return { cursor, setCursor, reset: () => setCursor(undefined) };
}

export function Pager({ cursor, nextCursor, onFirst, onNext, label = 'Pages' }: { cursor?: string; nextCursor?: string | null; onFirst: () => void; onNext: (c: string) => void; label?: string }) {
  if (!cursor && !nextCursor) return null;
  return (
    <nav className="pager" aria-label={label}>
      {cursor ? <button type="button" className="btn btn-ghost" onClick={onFirst}>← First page</button> : <span />}
      {nextCursor && <button type="button" className="btn btn-secondary" onClick={() => onNext(nextCursor)}>Next page →</button>}
    </nav>
  );
}
