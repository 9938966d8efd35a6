import { useEffect, useRef } from 'react';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';

export interface Series {
  label: string;
  color: string;
  /** Event times (ms); the chart shows their running total over time. */
  times: number[];
  /** How many events each time stands for (a server-side bucket); 1 each when absent. */
  counts?: number[];
}

const totalOf = (s: Series) => (s.counts ? s.counts.reduce((n, c) => n + c, 0) : s.times.length);

/**
 * Cumulative counts over time (uPlot, canvas); the figures are also in the page's text for screen readers.
 * `step` is the width of the server's buckets (ms), so one bucket still spans a readable time axis.
 */
export function TimeChart({ series, title, step = 1000 }: { series: Series[]; title: string; step?: number }) {
  const el = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const node = el.current;
    if (!node) return;
    const all = [...new Set(series.flatMap((s) => s.times))].sort((a, b) => a - b);
    if (all.length === 0) return;
    // Starts from zero just before the first event, so each line climbs from nothing.
    const xs = [all[0] - Math.max(step, (all[all.length - 1] - all[0]) / 20), ...all];
    const ys = series.map((s) => {
      const sorted = s.times.map((t, k) => [t, s.counts?.[k] ?? 1] as const).sort((a, b) => a[0] - b[0]);
      let i = 0;
      let sum = 0;
      return xs.map((x) => {
        while (i < sorted.length && sorted[i][0] <= x) sum += sorted[i++][1];
        return sum;
      });
    });
    const plot = new uPlot(
      {
        width: node.clientWidth || 600,
        height: 240,
        series: [{}, ...series.map((s) => ({ label: s.label, stroke: s.color, width: 2, points: { show: false } }))],
        axes: [{ stroke: '#475569', grid: { stroke: '#eef2f7' } }, { stroke: '#475569', grid: { stroke: '#eef2f7' } }],
        scales: { x: { time: true } },
        legend: { live: false },
        cursor: { drag: { x: false, y: false } },
      },
      [xs.map((x) => x / 1000), ...ys],
      node,
    );
    const ro = new ResizeObserver(() => plot.setSize({ width: node.clientWidth, height: 240 }));
    ro.observe(node);
    return () => {
      ro.disconnect();
      plot.destroy();
    };
  }, [series, step]);
  const empty = series.every((s) => totalOf(s) === 0);
  return (
    <figure className="time-chart">
      <figcaption>{title}</figcaption>
      {empty ? <p className="muted">Nothing recorded yet.</p> : <div ref={el} role="img" aria-label={`${title}: ${series.map((s) => `${s.label} ${totalOf(s)}`).join(', ')}`} />}
    </figure>
  );
}
