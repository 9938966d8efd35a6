import { useEffect, useId, useRef, type ButtonHTMLAttributes, type ReactNode } from 'react';
import { Link, NavLink } from 'react-router';
import { ApiError, detailLines } from '../api/client';

export function Button({ variant = 'primary', busy, children, ...rest }: ButtonHTMLAttributes<HTMLButtonElement> & { variant?: 'primary' | 'secondary' | 'danger' | 'ghost'; busy?: boolean }) {
  return (
    <button type="button" {...rest} className={`btn btn-${variant} ${rest.className ?? ''}`} disabled={rest.disabled || busy} aria-busy={busy || undefined}>
      {busy && <span className="spinner spinner-sm" aria-hidden="true" />}
      {children}
    </button>
  );
}

/** A labelled input; the hint and the error are tied to it for screen readers. */
export function Field({ label, hint, error, children }: { label: string; hint?: ReactNode; error?: string; children: (props: { id: string; 'aria-describedby'?: string; 'aria-invalid'?: boolean }) => ReactNode }) {
  const id = useId();
  const hintId = hint ? `${id}-hint` : undefined;
  const errId = error ? `${id}-err` : undefined;
  return (
    <div className="field">
      <label htmlFor={id}>{label}</label>
      {children({ id, 'aria-describedby': [hintId, errId].filter(Boolean).join(' ') || undefined, 'aria-invalid': error ? true : undefined })}
      {hint && <p className="hint" id={hintId}>{hint}</p>}
      {error && <p className="field-error" id={errId}>{error}</p>}
    </div>
  );
}

/** An API error in the server's own words (the contract's `error` field), with validation details. */
export function ErrorMessage({ error, title }: { error: unknown; title?: string }) {
  if (!error) return null;
  const message = error instanceof Error ? error.message : String(error);
  const lines = detailLines(error);
  return (
    <div className="alert alert-error" role="alert">
      {title && <strong>{title}: </strong>}
      {message}
      {error instanceof ApiError && error.code === 'plan_limit' && (
        <> <Link to="/settings/billing">See plans and usage</Link></>
      )}
      {lines.length > 0 && (
        <ul>
          {lines.map((l) => (
            <li key={l}>{l}</li>
          ))}
        </ul>
      )}
    </div>
  );
}

export function Loading({ label = 'Loading…' }: { label?: string }) {
  return (
    <div className="loading" role="status">
      <span className="spinner" aria-hidden="true" />
      <span>{label}</span>
    </div>
  );
}

export function Empty({ title, children }: { title: string; children?: ReactNode }) {
  return (
    <div className="empty">
      <p className="empty-title">{title}</p>
      {children}
    </div>
  );
}

export function NotFoundState({ what = 'page' }: { what?: string }) {
  return (
    <div className="empty" role="alert">
      <p className="empty-title">Not found</p>
      <p>This {what} does not exist, or it belongs to another organization.</p>
    </div>
  );
}

export const isNotFound = (err: unknown) => err instanceof ApiError && err.status === 404;

/** Loading, not found and error states of a query, in one place. */
export function QueryState({ query, what }: { query: { isPending: boolean; error: unknown }; what?: string }) {
  if (query.isPending) return <Loading />;
  if (isNotFound(query.error)) return <NotFoundState what={what} />;
  return <ErrorMessage error={query.error} />;
}

export function PageHeader({ title, children, back }: { title: ReactNode; children?: ReactNode; back?: ReactNode }) {
  useEffect(() => {
    if (typeof title === 'string') document.title = `${title} · Switchboard`;
  }, [title]);
  return (
    <header className="page-header">
      <div>
        {back}
        <h1>{title}</h1>
      </div>
      {children && <div className="page-actions">{children}</div>}
    </header>
  );
}

/** A modal confirmation on the native <dialog> (focus trapped, Escape closes, focus returns). */
export function ConfirmDialog({ open, title, children, confirmLabel, onConfirm, onCancel, busy, error, tone = 'danger' }: {
  open: boolean; title: string; children: ReactNode; confirmLabel: string; onConfirm: () => void; onCancel: () => void; busy?: boolean; error?: unknown; tone?: 'danger' | 'primary';
}) {
  const ref = useRef<HTMLDialogElement>(null);
  const titleId = useId();
  useEffect(() => {
    const d = ref.current;
    if (!d) return;
    if (open && !d.open) d.showModal();
    if (!open && d.open) d.close();
  }, [open]);
  return (
    <dialog ref={ref} className="dialog" aria-labelledby={titleId} onClose={onCancel}>
      <h2 id={titleId}>{title}</h2>
      <div className="dialog-body">{children}</div>
      <ErrorMessage error={error} />
      <div className="dialog-actions">
        <Button variant="secondary" onClick={onCancel}>Cancel</Button>
        <Button variant={tone} onClick={onConfirm} busy={busy}>{confirmLabel}</Button>
      </div>
    </dialog>
  );
}

export function StatusBadge({ status }: { status: string }) {
  return <span className={`badge badge-${status}`}>{status}</span>;
}

/** A message's status with its error, and its timeline (queued, sent, delivered, open, click…): one row's two cells. */
export function MessageCells({ status, error, timeline }: { status: string; error?: string | null; timeline: { type: string; at: string; url?: string | null }[] }) {
  return (
    <>
      <td><StatusBadge status={status} />{error && <div className="small error-text">{error}</div>}</td>
      <td>
        <ol className="timeline">
          {timeline.map((e, i) => (
            <li key={i}><span className="timeline-type">{e.type}</span> <time dateTime={e.at}>{formatDate(e.at)}</time>{e.url && <span className="muted small"> {e.url}</span>}</li>
          ))}
        </ol>
      </td>
    </>
  );
}

export const formatDate = (iso: string | null | undefined) => (iso ? new Date(iso).toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' }) : '—');
export const formatNumber = (n: number) => n.toLocaleString();
export const formatPercent = (r: number) => `${(r * 100).toFixed(r > 0 && r < 0.1 ? 1 : 0)}%`;

/** One headline figure of a results page (label, value, an optional line under it). */
export function Kpi({ label, value, sub }: { label: string; value: number | string; sub?: string }) {
  return (
    <div className="kpi card">
      <div className="kpi-label">{label}</div>
      <div className="kpi-value">{typeof value === 'number' ? value.toLocaleString() : value}</div>
      {sub && <div className="kpi-sub">{sub}</div>}
    </div>
  );
}

/** Links between sibling pages (the email and the SMS/voice outbox…), the current one marked. */
export function SubNav({ label, links }: { label: string; links: { to: string; label: string }[] }) {
  return (
    <nav className="subnav" aria-label={label}>
      {links.map((l) => (
        <NavLink key={l.to} to={l.to} end>{l.label}</NavLink>
      ))}
    </nav>
  );
}

/** A duration in seconds as "4:05" (or "1:02:03"); null as a dash. */
export function formatDuration(s: number | null | undefined) {
  if (s === null || s === undefined) return '—';
  const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), sec = s % 60;
  const mm = h ? String(m).padStart(2, '0') : String(m);
  return `${h ? `${h}:` : ''}${mm}:${String(sec).padStart(2, '0')}`;
}

export const isAdmin = (role: string | null | undefined) => role === 'owner' || role === 'admin';
