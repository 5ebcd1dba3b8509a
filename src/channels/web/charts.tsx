import type { Child } from "hono/jsx";

// Charts drawn on the server as SVG: no library, no script, nothing fetched (government networks reach no CDN).
// Each chart names itself (<title>, <desc>) and carries its figures as text in a table beside it, so a screen
// reader, a printout and a person who would rather read numbers all get them. The layouts are pure functions,
// so their geometry is tested without a browser (test/charts.test.ts).

/** An axis from 0 to `max` in `step`s: a round step (1, 2, 2.5 or 5 × 10ⁿ) so the tick labels read plainly. */
export interface Scale {
  max: number;
  step: number;
  ticks: number[];
}

/**
 * The axis for values up to `maxValue`, about `tickCount` steps; `fixedMax` (100 for percentages) sets the top.
 * An all-zero series still gets an axis (0–tickCount), so its bars have a scale to be zero on.
 */
export function niceScale(maxValue: number, tickCount = 4, fixedMax?: number): Scale {
  let step: number;
  let max: number;
  if (fixedMax !== undefined && fixedMax > 0) {
    max = fixedMax;
    step = fixedMax / tickCount;
  } else if (!(maxValue > 0)) {
    step = 1;
    max = tickCount;
  } else {
    const raw = maxValue / tickCount;
    const magnitude = 10 ** Math.floor(Math.log10(raw));
    const residual = raw / magnitude;
    step = (residual <= 1 ? 1 : residual <= 2 ? 2 : residual <= 2.5 ? 2.5 : residual <= 5 ? 5 : 10) * magnitude;
    max = step * Math.ceil(maxValue / step - 1e-9);
  }
  const ticks: number[] = [];
  for (let i = 0; i * step <= max + step * 1e-9; i++) ticks.push(round(i * step));
  return { max: round(max), step: round(step), ticks };
}

const round = (n: number) => Math.round(n * 1e6) / 1e6;

/** A figure as a label shows it: up to one decimal, no trailing zero (12, 12.5), with its unit. */
export function formatValue(value: number | null, unit = ""): string {
  if (value === null || !Number.isFinite(value)) return "—";
  const text = Number.isInteger(value) ? String(value) : value.toFixed(1).replace(/\.0$/, "");
  return `${text}${unit}`;
}

export interface Bar {
  label: string;
  value: number;
  /** A bar to notice (over a limit, late, dissatisfied): drawn in the warning colour. */
  warn?: boolean;
}

export interface BarLayout {
  width: number;
  height: number;
  scale: Scale;
  plot: { left: number; top: number; width: number; height: number };
  bars: (Bar & { x: number; y: number; width: number; height: number; shortLabel: string })[];
  ticks: { value: number; x: number; label: string }[];
}

const BAR = { labelWidth: 170, plotWidth: 380, valueWidth: 70, barHeight: 18, gap: 10, top: 8, axis: 26, maxLabelChars: 12 };

/** Horizontal bars (long Chinese unit names fit on the left), their lengths proportional to their values. */
export function barLayout(bars: readonly Bar[], opts: { max?: number; unit?: string } = {}): BarLayout {
  const scale = niceScale(Math.max(0, ...bars.map((b) => b.value)), 4, opts.max);
  const plot = { left: BAR.labelWidth, top: BAR.top, width: BAR.plotWidth, height: bars.length * (BAR.barHeight + BAR.gap) };
  const x = (v: number) => plot.left + (Math.min(Math.max(v, 0), scale.max) / scale.max) * plot.width;
  return {
    width: BAR.labelWidth + BAR.plotWidth + BAR.valueWidth,
    height: plot.top + plot.height + BAR.axis,
    scale,
    plot,
    bars: bars.map((b, i) => ({
      ...b,
      shortLabel: [...b.label].length > BAR.maxLabelChars ? `${[...b.label].slice(0, BAR.maxLabelChars - 1).join("")}…` : b.label,
      x: plot.left,
      y: plot.top + i * (BAR.barHeight + BAR.gap) + BAR.gap / 2,
      width: round(x(b.value) - plot.left),
      height: BAR.barHeight,
    })),
    ticks: scale.ticks.map((value) => ({ value, x: round(x(value)), label: formatValue(value, opts.unit) })),
  };
}

export interface Series {
  name: string;
  /** One value per label; null where there is no figure (a day without samples): the line breaks there. */
  values: readonly (number | null)[];
}

export interface LineLayout {
  width: number;
  height: number;
  scale: Scale;
  plot: { left: number; top: number; width: number; height: number };
  /** Each series as runs of points without a gap. */
  lines: { name: string; color: string; runs: { x: number; y: number; value: number; label: string }[][] }[];
  xTicks: { x: number; label: string }[];
  yTicks: { y: number; label: string }[];
}

const LINE = { width: 640, height: 260, left: 52, right: 16, top: 30, bottom: 34, maxXLabels: 7 };
export const SERIES_COLORS = ["#fa5151", "#07c160", "#576b95", "#fa9d3b"] as const;

/** Lines over a shared axis of labels (dates), x evenly spaced, y from 0 to a round maximum. */
export function lineLayout(labels: readonly string[], series: readonly Series[], opts: { max?: number; unit?: string } = {}): LineLayout {
  const all = series.flatMap((s) => s.values.filter((v): v is number => v !== null && Number.isFinite(v)));
  const scale = niceScale(Math.max(0, ...all), 4, opts.max);
  const plot = { left: LINE.left, top: LINE.top, width: LINE.width - LINE.left - LINE.right, height: LINE.height - LINE.top - LINE.bottom };
  const x = (i: number) => round(plot.left + (labels.length <= 1 ? plot.width / 2 : (i / (labels.length - 1)) * plot.width));
  const y = (v: number) => round(plot.top + plot.height - (Math.min(Math.max(v, 0), scale.max) / scale.max) * plot.height);
  // Every label when they fit, else an even spread that always shows the first and the last.
  const every = Math.max(1, Math.ceil((labels.length - 1) / (LINE.maxXLabels - 1)));
  const shown = labels.map((_, i) => i).filter((i) => i % every === 0 || i === labels.length - 1);
  return {
    width: LINE.width,
    height: LINE.height,
    scale,
    plot,
    lines: series.map((s, k) => {
      const runs: LineLayout["lines"][number]["runs"] = [];
      let run: LineLayout["lines"][number]["runs"][number] = [];
      s.values.forEach((v, i) => {
        if (v === null || !Number.isFinite(v)) {
          if (run.length) runs.push(run);
          run = [];
        } else run.push({ x: x(i), y: y(v), value: v, label: labels[i] ?? "" });
      });
      if (run.length) runs.push(run);
      return { name: s.name, color: SERIES_COLORS[k % SERIES_COLORS.length]!, runs };
    }),
    xTicks: shown.map((i) => ({ x: x(i), label: labels[i]! })),
    yTicks: scale.ticks.map((v) => ({ y: y(v), label: formatValue(v, opts.unit) })),
  };
}

const TEXT = { fontSize: 12, fill: "rgba(0,0,0,.65)" };
const GRID = "rgba(0,0,0,.08)";

/**
 * A bar chart with its title and description read out by screen readers, each bar's value written at its end,
 * and the figures in a table below (folded, so the chart comes first).
 */
export function BarChart(props: { id: string; title: string; desc?: string; bars: readonly Bar[]; unit?: string; max?: number; valueHeader?: string }) {
  const layout = barLayout(props.bars, { max: props.max, unit: props.unit });
  const desc = props.desc ?? props.bars.map((b) => `${b.label} ${formatValue(b.value, props.unit)}`).join("；");
  return (
    <Figure
      id={props.id}
      title={props.title}
      desc={desc}
      width={layout.width}
      height={layout.height}
      empty={props.bars.length === 0}
      data={<ChartData headers={["", props.valueHeader ?? "数值"]} rows={props.bars.map((b) => [b.label, formatValue(b.value, props.unit)])} />}
    >
      {layout.ticks.map((t) => (
        <g>
          <line x1={t.x} x2={t.x} y1={layout.plot.top} y2={layout.plot.top + layout.plot.height} stroke={GRID} />
          <text x={t.x} y={layout.height - 8} text-anchor="middle" font-size={TEXT.fontSize} fill={TEXT.fill}>
            {t.label}
          </text>
        </g>
      ))}
      {layout.bars.map((b) => (
        <g>
          <title>{`${b.label}：${formatValue(b.value, props.unit)}`}</title>
          <text x={b.x - 8} y={b.y + b.height - 4} text-anchor="end" font-size={TEXT.fontSize + 1} fill="rgba(0,0,0,.85)">
            {b.shortLabel}
          </text>
          <rect x={b.x} y={b.y} width={b.width} height={b.height} rx="2" fill={b.warn ? "#fa5151" : "#07c160"} />
          <text x={b.x + b.width + 6} y={b.y + b.height - 4} font-size={TEXT.fontSize} fill={TEXT.fill}>
            {formatValue(b.value, props.unit)}
          </text>
        </g>
      ))}
    </Figure>
  );
}

/** A line chart over dates: one line per series, a legend, a point per figure, and the figures in a table below. */
export function LineChart(props: { id: string; title: string; desc?: string; labels: readonly string[]; series: readonly Series[]; unit?: string; max?: number }) {
  const layout = lineLayout(props.labels, props.series, { max: props.max, unit: props.unit });
  const desc =
    props.desc ??
    `${props.labels[0] ?? ""} 至 ${props.labels[props.labels.length - 1] ?? ""}，` +
      props.series
        .map((s) => {
          const values = s.values.filter((v): v is number => v !== null);
          return values.length ? `${s.name}最高 ${formatValue(Math.max(...values), props.unit)}、最低 ${formatValue(Math.min(...values), props.unit)}` : `${s.name}无数据`;
        })
        .join("；");
  return (
    <Figure
      id={props.id}
      title={props.title}
      desc={desc}
      width={layout.width}
      height={layout.height}
      empty={props.labels.length === 0}
      data={
        <ChartData
          headers={["日期", ...props.series.map((s) => s.name)]}
          rows={props.labels.map((label, i) => [label, ...props.series.map((s) => formatValue(s.values[i] ?? null, props.unit))])}
        />
      }
    >
      {layout.yTicks.map((t) => (
        <g>
          <line x1={layout.plot.left} x2={layout.plot.left + layout.plot.width} y1={t.y} y2={t.y} stroke={GRID} />
          <text x={layout.plot.left - 6} y={t.y + 4} text-anchor="end" font-size={TEXT.fontSize} fill={TEXT.fill}>
            {t.label}
          </text>
        </g>
      ))}
      {layout.xTicks.map((t) => (
        <text x={t.x} y={layout.height - 12} text-anchor="middle" font-size={TEXT.fontSize} fill={TEXT.fill}>
          {t.label.slice(5)}
        </text>
      ))}
      {layout.lines.map((line, k) => (
        <g>
          <rect x={layout.plot.left + k * 120} y="6" width="12" height="12" fill={line.color} />
          <text x={layout.plot.left + k * 120 + 18} y="17" font-size={TEXT.fontSize + 1} fill="rgba(0,0,0,.85)">
            {line.name}
          </text>
          {line.runs.map((run) =>
            run.length > 1 ? <polyline points={run.map((p) => `${p.x},${p.y}`).join(" ")} fill="none" stroke={line.color} stroke-width="2" /> : null,
          )}
          {line.runs.flat().map((p) => (
            <circle cx={p.x} cy={p.y} r="2.5" fill={line.color}>
              <title>{`${p.label} ${line.name}：${formatValue(p.value, props.unit)}`}</title>
            </circle>
          ))}
        </g>
      ))}
    </Figure>
  );
}

/**
 * The frame every chart shares: a figure with its caption, an SVG that names itself to screen readers (title and
 * description) and scales down to a phone's width, and the figures as a table; "暂无数据" instead of an empty frame.
 */
function Figure(props: { id: string; title: string; desc: string; width: number; height: number; empty: boolean; data: Child; children?: Child }) {
  return (
    <figure class="ys-chart">
      <figcaption>{props.title}</figcaption>
      {props.empty ? (
        <p class="ys-muted">暂无数据</p>
      ) : (
        <svg
          role="img"
          aria-labelledby={`${props.id}-title ${props.id}-desc`}
          viewBox={`0 0 ${props.width} ${props.height}`}
          width="100%"
          style={`max-width:${props.width}px`}
          xmlns="http://www.w3.org/2000/svg"
        >
          <title id={`${props.id}-title`}>{props.title}</title>
          <desc id={`${props.id}-desc`}>{props.desc}</desc>
          {props.children}
        </svg>
      )}
      {props.data}
    </figure>
  );
}

/** A chart's figures as a table, folded under 查看数据: readable without the picture, and without script. */
function ChartData({ headers, rows }: { headers: string[]; rows: string[][] }) {
  if (rows.length === 0) return null;
  return (
    <details class="ys-chart-data">
      <summary>查看数据</summary>
      <table class="ys-table">
        <thead>
          <tr>
            {headers.map((h) => (
              <th scope="col">{h}</th>
            ))}
          </tr>
        </thead>
        <tbody>
          {rows.map((r) => (
            <tr>
              {r.map((cell, i) => (i === 0 ? <th scope="row">{cell}</th> : <td>{cell}</td>))}
            </tr>
          ))}
        </tbody>
      </table>
    </details>
  );
}
