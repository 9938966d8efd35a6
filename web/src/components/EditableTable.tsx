import { useState, type ReactNode } from 'react';
import { Button, Empty, ErrorMessage, Loading } from './ui';

/**
 * A settings list whose rows are edited where they stand (canned responses, teams): Edit turns a row into
 * the form `editFields` draws, Save hands that form to `onSave` and closes it once the save succeeded,
 * Delete calls `onDelete`. Loading, the list's error and the empty state are drawn as on every page.
 */
export function EditableTable<T extends { id: string }>({
  title,
  headingId,
  columns,
  query,
  emptyTitle,
  nameOf,
  cells,
  editFields,
  onSave,
  onDelete,
}: {
  title: string;
  headingId: string;
  columns: string[];
  query: { isPending: boolean; error: unknown; data?: { data: T[] } };
  emptyTitle: string;
  /** How the row is named in its buttons' and form's labels ("Edit /thanks"). */
  nameOf: (row: T) => string;
  cells: (row: T) => ReactNode;
  editFields: (row: T) => ReactNode;
  onSave: { run: (row: T, form: HTMLFormElement) => Promise<unknown>; busy: boolean; error: unknown };
  onDelete: { run: (row: T) => void; error: unknown };
}) {
  const [editing, setEditing] = useState<string | null>(null);
  const rows = query.data?.data;
  return (
    <section className="card table-card" aria-labelledby={headingId}>
      <h2 id={headingId} className="pad">{title}</h2>
      {query.isPending && <Loading />}
      <ErrorMessage error={query.error ?? onDelete.error} />
      {rows && rows.length === 0 && <Empty title={emptyTitle} />}
      {rows && rows.length > 0 && (
        <table className="table">
          <thead>
            <tr>
              {columns.map((c) => <th scope="col" key={c}>{c}</th>)}
              <th scope="col"><span className="sr-only">Actions</span></th>
            </tr>
          </thead>
          <tbody>
            {rows.map((row) =>
              editing === row.id ? (
                <tr key={row.id}>
                  <td colSpan={columns.length + 1}>
                    <form
                      className="stack-sm"
                      aria-label={`Edit ${nameOf(row)}`}
                      onSubmit={(e) => {
                        e.preventDefault();
                        onSave.run(row, e.currentTarget).then(() => setEditing(null), () => {});
                      }}
                    >
                      {editFields(row)}
                      <ErrorMessage error={onSave.error} />
                      <div className="row">
                        <Button type="submit" busy={onSave.busy}>Save</Button>
                        <Button variant="ghost" onClick={() => setEditing(null)}>Cancel</Button>
                      </div>
                    </form>
                  </td>
                </tr>
              ) : (
                <tr key={row.id}>
                  {cells(row)}
                  <td className="nowrap">
                    <Button variant="ghost" onClick={() => setEditing(row.id)} aria-label={`Edit ${nameOf(row)}`}>Edit</Button>
                    <Button variant="ghost" onClick={() => onDelete.run(row)} aria-label={`Delete ${nameOf(row)}`}>Delete</Button>
                  </td>
                </tr>
              ),
            )}
          </tbody>
        </table>
      )}
    </section>
  );
}
