import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useRef, useState, type DragEvent } from 'react';
import { Link } from 'react-router';
import { uploadFile, type Body, type UploadProgress } from '../../api/client';
import { Button, ErrorMessage, PageHeader } from '../../components/ui';

type ImportResult = Body<'/api/customers/import', 'post'>;

const formatBytes = (n: number) => (n < 1024 ? `${n} B` : n < 1024 * 1024 ? `${(n / 1024).toFixed(1)} KB` : `${(n / 1024 / 1024).toFixed(1)} MB`);

/** CSV import by file picker or drag and drop, with upload progress and the rejected rows by line. */
export default function CustomerImport() {
  const qc = useQueryClient();
  const input = useRef<HTMLInputElement>(null);
  const [file, setFile] = useState<File | null>(null);
  const [dragging, setDragging] = useState(false);
  const [progress, setProgress] = useState<UploadProgress | null>(null);
  const upload = useMutation({
    mutationFn: (f: File) => uploadFile<ImportResult>('/api/customers/import', f, setProgress),
    onSuccess: () => qc.invalidateQueries({ queryKey: ['customers'] }),
  });
  const choose = (f: File | undefined | null) => {
    if (!f) return;
    setFile(f);
    setProgress(null);
    upload.reset();
  };
  const onDrop = (e: DragEvent) => {
    e.preventDefault();
    setDragging(false);
    choose(e.dataTransfer.files[0]);
  };
  const pct = progress && progress.total ? Math.round((progress.loaded / progress.total) * 100) : 0;
  const result = upload.data;
  return (
    <>
      <PageHeader title="Import customers" back={<Link className="back" to="/customers">← Customers</Link>} />
      <div className="card stack">
        <p>
          A CSV file with a header row. Columns named like the customer fields — <code>email</code>, <code>phone</code>, <code>first_name</code>, <code>last_name</code>,{' '}
          <code>email_opt_in</code>, <code>sms_opt_in</code>, <code>tags</code> — and any other column becomes an attribute. Importing again updates customers by email.
        </p>
        <div
          className={`dropzone ${dragging ? 'is-dragging' : ''}`}
          onDragOver={(e) => { e.preventDefault(); setDragging(true); }}
          onDragLeave={() => setDragging(false)}
          onDrop={onDrop}
        >
          <p className="dropzone-title">Drop a CSV file here</p>
          <p className="muted">or</p>
          <input ref={input} id="csv-file" type="file" accept=".csv,text/csv" className="sr-only" onChange={(e) => choose(e.target.files?.[0])} />
          <label htmlFor="csv-file" className="btn btn-secondary">Choose a file…</label>
          {file && <p className="file-name">{file.name} · {formatBytes(file.size)}</p>}
        </div>
        {file && (
          <div className="row">
            <Button onClick={() => upload.mutate(file)} busy={upload.isPending} disabled={!file}>Import {file.name}</Button>
          </div>
        )}
        {(upload.isPending || progress) && (
          <div className="progress-block">
            <label htmlFor="upload-progress">{upload.isPending && pct >= 100 ? 'Uploaded, importing rows…' : `Uploading ${pct}%`}</label>
            <progress id="upload-progress" max={100} value={pct} />
          </div>
        )}
        <ErrorMessage error={upload.error} title="Import failed" />
      </div>
      {result && (
        <section className="card stack" aria-labelledby="result-h">
          <h2 id="result-h">Import finished</h2>
          <div className="kpis kpis-inline" role="status">
            <div><span className="kpi-value">{result.created}</span> created</div>
            <div><span className="kpi-value">{result.updated}</span> updated</div>
            <div><span className="kpi-value">{result.rejectedCount}</span> rejected</div>
          </div>
          {result.rejected.length > 0 && (
            <>
              <h3>Rejected rows</h3>
              <table className="table">
                <caption className="sr-only">Rejected rows by line</caption>
                <thead><tr><th scope="col">Line</th><th scope="col">Reason</th></tr></thead>
                <tbody>
                  {result.rejected.map((r) => (
                    <tr key={r.row}><td className="nowrap">Line {r.row}</td><td>{r.error}</td></tr>
                  ))}
                </tbody>
              </table>
              {result.rejectedCount > result.rejected.length && <p className="muted">And {result.rejectedCount - result.rejected.length} more.</p>}
            </>
          )}
          <div className="row"><Link className="btn btn-primary" to="/customers">See customers</Link></div>
        </section>
      )}
    </>
  );
}
