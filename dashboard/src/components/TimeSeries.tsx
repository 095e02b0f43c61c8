// Hand-drawn SVG line charts of samples over time (the monitoring graphs): the x axis is the
// period ending now, the y axis scales to the data with a few round gridlines, a line breaks
// where samples are missing, and a dashed line can mark a reference (a flavor's memory, a
// host's total). Also the period switch the graphs share.
import { useId } from "react";

/** How values and tick labels are written. */
export type ValueUnit = "percent" | "bytes" | "bytesPerSec";

export interface TimeSeries {
  label: string;
  color: string;
  /** One value per entry of the chart's `times` (null: nothing measured then). */
  values: (number | null)[];
}

export interface TimeSeriesChartProps {
  /** data-testid of the chart; it also carries data-points (the samples drawn). */
  testId: string;
  title: string;
  /** Sample times, Unix seconds, ascending. */
  times: number[];
  /** One or two series (more work, but the colors are chosen for two). */
  series: TimeSeries[];
  unit: ValueUnit;
  /** The x axis, Unix seconds: [start, end]. */
  start: number;
  end: number;
  /** Seconds between samples: consecutive samples more than 3 intervals apart are not joined. */
  interval: number;
  /** The y axis reaches at least this (100 for percentages). */
  minTop?: number;
  /** A dashed horizontal line, e.g. the flavor's memory; the axis reaches it. */
  reference?: { value: number; label: string };
  /** Shown at the right of the title, e.g. the latest value. */
  summary?: string;
  /** A smaller chart (the hypervisor cards). */
  small?: boolean;
}

export const SERIES_COLORS = ["#6366f1", "#0ea5e9"] as const;
const REFERENCE_COLOR = "#f59e0b";

const BYTE_UNITS = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];

function trimNumber(n: number): string {
  if (n === 0) return "0";
  if (Math.abs(n) >= 100) return String(Math.round(n));
  if (Math.abs(n) >= 10) return String(Math.round(n * 10) / 10);
  return String(Math.round(n * 100) / 100);
}

/** A value as the chart writes it: `35%`, `1.5 MiB`, `200 KiB/s`. */
export function formatValue(v: number, unit: ValueUnit): string {
  if (unit === "percent") return `${trimNumber(v)}%`;
  let n = v;
  let i = 0;
  while (Math.abs(n) >= 1024 && i < BYTE_UNITS.length - 1) {
    n /= 1024;
    i++;
  }
  return `${trimNumber(n)} ${BYTE_UNITS[i]}${unit === "bytesPerSec" ? "/s" : ""}`;
}

/** The least of 1, 2, 2.5, 5 (times a power of ten) that is at least `x`. */
function niceCeil(x: number): number {
  if (!(x > 0)) return 1;
  const exp = Math.pow(10, Math.floor(Math.log10(x)));
  const f = x / exp;
  for (const m of [1, 2, 2.5, 5]) if (f <= m * (1 + 1e-9)) return m * exp;
  return 10 * exp;
}

/** Gridline values from 0 to the top of the axis: 3 or 4 steps of a round size (in the
 * binary unit the largest value is written in, for bytes). */
export function yTicks(max: number, unit: ValueUnit, steps = 4): number[] {
  let top = max;
  if (!(top > 0)) top = unit === "percent" ? 100 : 1024;
  let base = 1;
  if (unit !== "percent") while (top / base >= 1024) base *= 1024;
  const step = niceCeil(top / base / steps) * base;
  const n = Math.max(1, Math.ceil(top / step - 1e-9));
  return Array.from({ length: n + 1 }, (_, i) => i * step);
}

/** Times of the x axis labels: round local times, every 15 min over an hour, every 4 h over
 * a day (scaled for other spans). */
export function xTicks(start: number, end: number): number[] {
  const span = end - start;
  const steps = [60, 300, 600, 900, 1800, 3600, 7200, 10800, 14400, 21600, 43200, 86400];
  const step = steps.find((s) => span / s <= 6) ?? 86400;
  const offset = new Date(start * 1000).getTimezoneOffset() * 60; // local = UTC - offset
  const first = Math.ceil((start - offset) / step) * step + offset;
  const out: number[] = [];
  for (let t = first; t <= end; t += step) out.push(t);
  return out;
}

function timeLabel(t: number, span: number): string {
  const d = new Date(t * 1000);
  const hm = d.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", hour12: false });
  return span > 86400 ? `${d.toLocaleDateString([], { month: "short", day: "numeric" })} ${hm}` : hm;
}

export function TimeSeriesChart({
  testId,
  title,
  times,
  series,
  unit,
  start,
  end,
  interval,
  minTop = 0,
  reference,
  summary,
  small = false,
}: TimeSeriesChartProps) {
  const clipId = useId();
  const W = small ? 520 : 600;
  const H = small ? 112 : 200;
  const pad = small ? { l: 62, r: 10, t: 8, b: 20 } : { l: 70, r: 14, t: 10, b: 24 };
  const font = small ? 10.5 : 11;
  const plotW = W - pad.l - pad.r;
  const plotH = H - pad.t - pad.b;
  const span = Math.max(1, end - start);

  // The samples on the axis (the period may have moved on since they were read).
  const shown: number[] = [];
  times.forEach((t, i) => {
    if (t >= start - interval && t <= end + interval) shown.push(i);
  });
  let max = minTop;
  for (const s of series) for (const i of shown) {
    const v = s.values[i];
    if (v !== null && Number.isFinite(v)) max = Math.max(max, v);
  }
  if (reference && Number.isFinite(reference.value)) max = Math.max(max, reference.value);
  const ticks = yTicks(max, unit, small ? 2 : 4);
  const top = ticks[ticks.length - 1];

  const x = (t: number) => pad.l + ((Math.min(end, Math.max(start, t)) - start) / span) * plotW;
  const y = (v: number) => pad.t + plotH - (Math.max(0, v) / top) * plotH;
  const gap = 3 * Math.max(1, interval);

  // Each series as runs of joined samples; a run of one sample is drawn as a dot.
  const drawn = series.map((s) => {
    const runs: [number, number][][] = [];
    let run: [number, number][] = [];
    let prevT: number | null = null;
    for (const i of shown) {
      const v = s.values[i];
      const t = times[i];
      if (v === null || !Number.isFinite(v)) {
        if (run.length) runs.push(run);
        run = [];
        prevT = null;
        continue;
      }
      if (prevT !== null && t - prevT > gap && run.length) {
        runs.push(run);
        run = [];
      }
      run.push([x(t), y(v)]);
      prevT = t;
    }
    if (run.length) runs.push(run);
    return runs;
  });
  const path = (run: [number, number][]) => run.map(([px, py], i) => `${i ? "L" : "M"}${px.toFixed(1)},${py.toFixed(1)}`).join("");
  const baseline = pad.t + plotH;

  const latest = (s: TimeSeries) => {
    for (let k = shown.length - 1; k >= 0; k--) {
      const v = s.values[shown[k]];
      if (v !== null && Number.isFinite(v)) return formatValue(v, unit);
    }
    return "—";
  };

  return (
    <div className={small ? "ts-chart ts-chart-small" : "ts-chart"} data-testid={testId} data-points={shown.length}>
      <div className="ts-head">
        <span className="ts-title">{title}</span>
        {summary && <span className="ts-summary">{summary}</span>}
      </div>
      <svg viewBox={`0 0 ${W} ${H}`} className="ts-svg" role="img" aria-label={`${title}: ${shown.length} samples`}>
        <defs>
          <clipPath id={clipId}>
            <rect x={pad.l} y={pad.t - 2} width={plotW} height={plotH + 4} />
          </clipPath>
        </defs>
        {ticks.map((v) => (
          <g key={v}>
            <line x1={pad.l} x2={W - pad.r} y1={y(v)} y2={y(v)} className={v === 0 ? "ts-axis" : "ts-grid"} />
            <text x={pad.l - 8} y={y(v) + font / 3} textAnchor="end" fontSize={font} className="ts-tick">
              {formatValue(v, unit)}
            </text>
          </g>
        ))}
        {xTicks(start, end).map((t) => (
          <g key={t}>
            <line x1={x(t)} x2={x(t)} y1={baseline} y2={baseline + 4} className="ts-axis" />
            <text x={x(t)} y={H - 5} textAnchor="middle" fontSize={font} className="ts-tick">
              {timeLabel(t, span)}
            </text>
          </g>
        ))}
        <g clipPath={`url(#${clipId})`}>
          {drawn.length === 1 &&
            drawn[0].filter((r) => r.length > 1).map((r, k) => (
              <path
                key={`a${k}`}
                d={`${path(r)}L${r[r.length - 1][0].toFixed(1)},${baseline}L${r[0][0].toFixed(1)},${baseline}Z`}
                fill={series[0].color}
                opacity={0.1}
              />
            ))}
          {reference && Number.isFinite(reference.value) && (
            <line x1={pad.l} x2={W - pad.r} y1={y(reference.value)} y2={y(reference.value)} stroke={REFERENCE_COLOR} strokeWidth={1.5} strokeDasharray="5 4" />
          )}
          {drawn.map((runs, si) =>
            runs.map((r, k) =>
              r.length === 1 ? (
                <circle key={`${si}-${k}`} cx={r[0][0]} cy={r[0][1]} r={small ? 2 : 2.5} fill={series[si].color} />
              ) : (
                <path key={`${si}-${k}`} d={path(r)} fill="none" stroke={series[si].color} strokeWidth={small ? 1.5 : 2} strokeLinejoin="round" strokeLinecap="round" />
              ),
            ),
          )}
        </g>
        {shown.length === 0 && (
          <text x={pad.l + plotW / 2} y={pad.t + plotH / 2} textAnchor="middle" fontSize={font + 1} className="ts-tick">
            No samples in this period
          </text>
        )}
      </svg>
      {(series.length > 1 || !small) && (
        <div className="ts-legend">
          {series.map((s) => (
            <span key={s.label}>
              <i className="ts-swatch" style={{ background: s.color }} />
              {s.label} <strong>{latest(s)}</strong>
            </span>
          ))}
          {reference && (
            <span>
              <i className="ts-swatch ts-swatch-dashed" style={{ borderColor: REFERENCE_COLOR }} />
              {reference.label} <strong>{formatValue(reference.value, unit)}</strong>
            </span>
          )}
        </div>
      )}
    </div>
  );
}

/** "Last hour" / "Last day": buttons with testids period-hour and period-day. */
export function PeriodSwitch<P extends string>({
  value,
  options,
  onChange,
  testIdPrefix = "period",
}: {
  value: P;
  options: [P, string][];
  onChange: (p: P) => void;
  testIdPrefix?: string;
}) {
  return (
    <div className="segmented" role="group">
      {options.map(([key, label]) => (
        <button
          key={key}
          type="button"
          className={key === value ? "segment active" : "segment"}
          aria-pressed={key === value}
          data-testid={`${testIdPrefix}-${key}`}
          onClick={() => onChange(key)}
        >
          {label}
        </button>
      ))}
    </div>
  );
}
