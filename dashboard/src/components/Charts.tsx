// Hand-drawn SVG charts: a usage donut and a horizontal meter.

function tone(fraction: number): string {
  if (fraction >= 0.9) return "#ef4444";
  if (fraction >= 0.7) return "#f59e0b";
  return "#6366f1";
}

export function UsageDonut({
  label,
  used,
  limit,
  unit,
  format = (n) => String(n),
}: {
  label: string;
  used: number;
  limit: number;
  unit?: string;
  format?: (n: number) => string;
}) {
  const unlimited = limit < 0;
  const fraction = unlimited ? 0 : limit === 0 ? (used > 0 ? 1 : 0) : Math.min(1, used / limit);
  const r = 44;
  const circumference = 2 * Math.PI * r;
  const color = tone(fraction);
  return (
    <div className="donut" data-testid={`usage-${label.toLowerCase().replace(/\s+/g, "-")}`}>
      <svg viewBox="0 0 120 120" width="132" height="132" role="img" aria-label={`${label}: ${used} of ${unlimited ? "unlimited" : limit}`}>
        <circle cx="60" cy="60" r={r} fill="none" stroke="#eef0f6" strokeWidth="13" />
        {fraction > 0 && <circle
          cx="60"
          cy="60"
          r={r}
          fill="none"
          stroke={color}
          strokeWidth="13"
          strokeLinecap={fraction > 0.04 ? "round" : "butt"}
          strokeDasharray={`${fraction * circumference} ${circumference}`}
          transform="rotate(-90 60 60)"
          style={{ transition: "stroke-dasharray .6s ease" }}
        />}
        <text x="60" y="58" textAnchor="middle" className="donut-value">
          {unlimited ? "∞" : `${Math.round(fraction * 100)}%`}
        </text>
        <text x="60" y="76" textAnchor="middle" className="donut-caption">
          used
        </text>
      </svg>
      <div className="donut-label">{label}</div>
      <div className="donut-detail">
        {format(used)} of {unlimited ? "unlimited" : format(limit)}
        {unit ? ` ${unit}` : ""}
      </div>
    </div>
  );
}

export function Meter({ used, total, label }: { used: number; total: number; label?: string }) {
  const fraction = total > 0 ? Math.min(1, used / total) : 0;
  return (
    <div className="meter" title={label}>
      <div className="meter-fill" style={{ width: `${fraction * 100}%`, background: tone(fraction) }} />
    </div>
  );
}

export function ProgressBar({ value, label }: { value: number; label: string }) {
  const pct = Math.max(0, Math.min(100, Math.round(value * 100)));
  return (
    <div className="progress" role="progressbar" aria-label={label} aria-valuemin={0} aria-valuemax={100} aria-valuenow={pct}>
      <div className="progress-fill" style={{ width: `${pct}%` }} />
    </div>
  );
}
