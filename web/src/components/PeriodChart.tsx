import { useEffect, useRef } from 'react';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';

/**
 * A figure per day over a period (solid) beside the same figure over the period just before (dashed), day
 * by day: day k of the previous period is drawn at day k of the current one. uPlot on a canvas; the totals
 * are in the label for screen readers, and the page shows the figures as a table.
 */
export function PeriodChart({ title, days, current, previous, color = '#4f46e5' }: { title: string; days: string[]; current: (number | null)[]; previous: (number | null)[]; color?: string }) {
  const el = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const node = el.current;
    if (!node || days.length === 0) return;
    const xs = days.map((d) => Date.parse(`${d}T00:00:00Z`) / 1000);
    const plot = new uPlot(
      {
        width: node.clientWidth || 600,
        height: 240,
        series: [
          {},
          { label: 'This period', stroke: color, width: 2, points: { show: days.length < 40 } },
          { label: 'Previous period', stroke: '#94a3b8', width: 2, dash: [6, 4], points: { show: false } },
        ],
        axes: [{ stroke: '#475569', grid: { stroke: '#eef2f7' } }, { stroke: '#475569', grid: { stroke: '#eef2f7' } }],
        // Half a day either side (one day stays readable); counts from zero.
        scales: { x: { time: true, range: (_u, min, max) => [min - 43_200, max + 43_200] }, y: { range: (_u, _min, max) => [0, Math.max(1, max ?? 0) * 1.1] } },
        legend: { live: false },
        cursor: { drag: { x: false, y: false } },
      },
      [xs, current, previous.slice(0, days.length)],
      node,
    );
    const ro = new ResizeObserver(() => plot.setSize({ width: node.clientWidth, height: 240 }));
    ro.observe(node);
    return () => {
      ro.disconnect();
      plot.destroy();
    };
  }, [days, current, previous, color]);
  const sum = (v: (number | null)[]) => v.reduce<number>((n, x) => n + (x ?? 0), 0);
  return (
    <figure className="time-chart period-chart">
      <figcaption>{title}</figcaption>
      <div ref={el} role="img" aria-label={`${title}: this period ${sum(current).toLocaleString()}, previous period ${sum(previous).toLocaleString()} (dashed line)`} />
    </figure>
  );
}
