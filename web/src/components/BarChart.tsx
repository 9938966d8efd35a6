/** Horizontal bars for counts by category, drawn with plain elements; the numbers are in the text too. */
export function BarChart({ title, data, colors }: { title: string; data: Record<string, number>; colors?: Record<string, string> }) {
  const entries = Object.entries(data);
  const max = Math.max(1, ...entries.map(([, v]) => v));
  return (
    <figure className="bar-chart">
      <figcaption>{title}</figcaption>
      <dl>
        {entries.map(([k, v]) => (
          <div className="bar-row" key={k}>
            <dt>{k}</dt>
            <dd>
              <span className="bar-track" aria-hidden="true">
                <span className={`bar bar-${k}`} style={{ width: `${(v / max) * 100}%`, background: colors?.[k] }} />
              </span>
              <span className="bar-value">{v.toLocaleString()}</span>
            </dd>
          </div>
        ))}
      </dl>
    </figure>
  );
}
