/**
 * A small line-chart writer for the growth benchmark's charts: plain SVG text, no dependencies, so
 * the charts can be regenerated anywhere the benchmark runs and diffed in review. One or more
 * panels side by side in one file; each panel has axes with ticks (linear or log10), axis labels,
 * a title, a legend, one polyline per series and optional vertical markers (a threshold).
 */

export interface Point {
  readonly x: number;
  readonly y: number;
}

export interface Series {
  readonly name: string;
  readonly points: readonly Point[];
  /** A CSS colour; by default the next one of the palette. */
  readonly color?: string;
  readonly dashed?: boolean;
}

/** A vertical line at `x` with a label, e.g. where compression starts. */
export interface Marker {
  readonly x: number;
  readonly label: string;
}

export interface Panel {
  readonly title: string;
  readonly xLabel: string;
  readonly yLabel: string;
  readonly series: readonly Series[];
  readonly xLog?: boolean;
  readonly yLog?: boolean;
  /** Includes 0 in a linear y axis (the default), so small differences do not look large. */
  readonly yFromZero?: boolean;
  readonly markers?: readonly Marker[];
  readonly formatX?: (value: number) => string;
  readonly formatY?: (value: number) => string;
}

export interface Chart {
  readonly title: string;
  /** A line under the title: the machine, the runs. */
  readonly subtitle?: string;
  readonly panels: readonly Panel[];
}

/** Colour-blind-safe (Okabe-Ito), in the order series get them. */
const PALETTE = ['#0072B2', '#D55E00', '#009E73', '#CC79A7', '#E69F00', '#56B4E9', '#000000', '#F0E442'];

const PANEL_WIDTH = 560;
const PANEL_HEIGHT = 400;
const MARGIN = { left: 72, right: 16, top: 36, bottom: 52 } as const;
const LEGEND_LINE = 16;
const HEADER = 52;

interface Scale {
  readonly toPixel: (value: number) => number;
  readonly ticks: readonly number[];
}

const escapeXml = (text: string): string => text.replace(/[<>&"']/g, (c) => `&#${c.charCodeAt(0)};`);

const round = (n: number): string => (Math.round(n * 10) / 10).toString();

/** 1, 2, 5 × 10^k steps: about `count` ticks covering [min, max]. */
function linearTicks(min: number, max: number, count = 6): number[] {
  const span = max - min || Math.abs(max) || 1;
  const raw = span / count;
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * magnitude).find((s) => s >= raw) ?? 10 * magnitude;
  const ticks: number[] = [];
  for (let t = Math.ceil(min / step) * step; t <= max + step * 1e-9; t += step) ticks.push(Number(t.toPrecision(12)));
  return ticks;
}

/** 1, 2, 5 × 10^k in [min, max]: a log axis' ticks when the data do not name their own. */
function logTicks(min: number, max: number): number[] {
  const ticks: number[] = [];
  for (let e = Math.floor(Math.log10(min)); e <= Math.ceil(Math.log10(max)); e += 1) {
    for (const m of [1, 2, 5]) {
      const t = m * 10 ** e;
      if (t >= min * (1 - 1e-9) && t <= max * (1 + 1e-9)) ticks.push(t);
    }
  }
  // Over many decades, 2 and 5 crowd the axis: powers of 10 only.
  return ticks.length > 10 ? ticks.filter((t) => Number.isInteger(Math.log10(t))) : ticks;
}

/** The nearest 1, 2 or 5 × 10^k at or below (`down`), or at or above, `value`. */
function niceLog(value: number, down: boolean): number {
  const e = Math.floor(Math.log10(value));
  const steps = [1, 2, 5, 10].map((m) => m * 10 ** e);
  const found = down ? [...steps].reverse().find((s) => s <= value * (1 + 1e-9)) : steps.find((s) => s >= value * (1 - 1e-9));
  return found ?? value;
}

/**
 * A log axis. With `own` ticks (the x values measured, when there are few) the range is the data's
 * with a little room either side; otherwise it is widened to 1-2-5 steps.
 */
function logScale(min: number, max: number, own: readonly number[] | undefined, pixelFrom: number, pixelTo: number): Scale {
  let [low, high] = own ? [min / 1.15, max * 1.15] : [niceLog(min, true), niceLog(max, false)];
  if (low === high) [low, high] = [low / 2, high * 2];
  const [a, b] = [Math.log10(low), Math.log10(high)];
  return { toPixel: (v) => pixelFrom + ((Math.log10(v) - a) / (b - a)) * (pixelTo - pixelFrom), ticks: own ?? logTicks(low, high) };
}

/** The axis range: the data's, widened to nice steps; a log axis may be given its ticks. */
function makeScale(values: readonly number[], log: boolean, fromZero: boolean, pixelFrom: number, pixelTo: number, own?: readonly number[]): Scale {
  const finite = values.filter((v) => Number.isFinite(v) && (!log || v > 0));
  let min = finite.length > 0 ? Math.min(...finite) : 1;
  let max = finite.length > 0 ? Math.max(...finite) : 10;
  if (log) return logScale(min, max, own, pixelFrom, pixelTo);
  if (fromZero) min = Math.min(0, min);
  if (min === max) max = min + 1;
  const ticks = linearTicks(min, max);
  min = Math.min(min, ticks[0] ?? min);
  const step = ticks.length > 1 ? (ticks[1] ?? 0) - (ticks[0] ?? 0) : max - min;
  const last = ticks[ticks.length - 1] ?? max;
  if (last < max) ticks.push(Number((last + step).toPrecision(12)));
  max = Math.max(max, ticks[ticks.length - 1] ?? max);
  return { toPixel: (v) => pixelFrom + ((v - min) / (max - min)) * (pixelTo - pixelFrom), ticks };
}

/** 1.5k, 10k, 2M: short tick labels. */
export function shortNumber(value: number): string {
  const abs = Math.abs(value);
  if (abs >= 1e9) return `${trim(value / 1e9)}G`;
  if (abs >= 1e6) return `${trim(value / 1e6)}M`;
  if (abs >= 1e3) return `${trim(value / 1e3)}k`;
  return trim(value);
}

/** 100 B, 4.1 KB, 1 MB: decimal, as the sizes measured are (1 KB = 1,000 bytes). */
export function shortBytes(value: number): string {
  if (value >= 1e6) return `${trim(value / 1e6)} MB`;
  if (value >= 1e3) return `${trim(value / 1e3)} KB`;
  return `${trim(value)} B`;
}

const trim = (n: number): string => String(Number(n.toPrecision(3)));

function axes(panel: Panel, x: Scale, y: Scale, box: { left: number; right: number; top: number; bottom: number }): string[] {
  const fx = panel.formatX ?? shortNumber;
  const fy = panel.formatY ?? shortNumber;
  const out = [`<rect x="${box.left}" y="${box.top}" width="${box.right - box.left}" height="${box.bottom - box.top}" fill="none" stroke="#444"/>`];
  for (const t of x.ticks) {
    const px = round(x.toPixel(t));
    out.push(`<line x1="${px}" y1="${box.top}" x2="${px}" y2="${box.bottom}" stroke="#ddd"/>`);
    out.push(`<text x="${px}" y="${box.bottom + 16}" text-anchor="middle">${escapeXml(fx(t))}</text>`);
  }
  for (const t of y.ticks) {
    const py = round(y.toPixel(t));
    out.push(`<line x1="${box.left}" y1="${py}" x2="${box.right}" y2="${py}" stroke="#ddd"/>`);
    out.push(`<text x="${box.left - 6}" y="${py}" text-anchor="end" dominant-baseline="middle">${escapeXml(fy(t))}</text>`);
  }
  const midX = round((box.left + box.right) / 2);
  const midY = round((box.top + box.bottom) / 2);
  out.push(`<text x="${midX}" y="${box.bottom + 38}" text-anchor="middle" class="label">${escapeXml(panel.xLabel)}</text>`);
  out.push(
    `<text x="${box.left - 56}" y="${midY}" text-anchor="middle" class="label" transform="rotate(-90 ${box.left - 56} ${midY})">${escapeXml(panel.yLabel)}</text>`,
  );
  out.push(`<text x="${midX}" y="${box.top - 14}" text-anchor="middle" class="panel-title">${escapeXml(panel.title)}</text>`);
  return out;
}

function lines(panel: Panel, x: Scale, y: Scale, colors: readonly string[]): string[] {
  return panel.series.flatMap((series, i) => {
    const usable = series.points.filter((p) => Number.isFinite(p.x) && Number.isFinite(p.y) && (!panel.xLog || p.x > 0) && (!panel.yLog || p.y > 0));
    const coords = usable.map((p) => `${round(x.toPixel(p.x))},${round(y.toPixel(p.y))}`);
    const color = colors[i] ?? '#000';
    const dash = series.dashed ? ' stroke-dasharray="6 4"' : '';
    return [
      `<polyline points="${coords.join(' ')}" fill="none" stroke="${color}" stroke-width="2"${dash}/>`,
      ...coords.map((c) => {
        const [cx, cy] = c.split(',');
        return `<circle cx="${cx}" cy="${cy}" r="3" fill="${color}"/>`;
      }),
    ];
  });
}

function markers(panel: Panel, x: Scale, box: { top: number; bottom: number }): string[] {
  return (panel.markers ?? []).flatMap((m) => {
    const px = round(x.toPixel(m.x));
    return [
      `<line x1="${px}" y1="${box.top}" x2="${px}" y2="${box.bottom}" stroke="#888" stroke-width="1.5" stroke-dasharray="2 3"/>`,
      `<text x="${px}" y="${box.top + 12}" dx="4" class="marker">${escapeXml(m.label)}</text>`,
    ];
  });
}

function legend(panel: Panel, colors: readonly string[], left: number, top: number): string[] {
  return panel.series.flatMap((series, i) => {
    const y = top + i * LEGEND_LINE;
    const dash = series.dashed ? ' stroke-dasharray="6 4"' : '';
    return [
      `<line x1="${left}" y1="${y}" x2="${left + 24}" y2="${y}" stroke="${colors[i] ?? '#000'}" stroke-width="2"${dash}/>`,
      `<text x="${left + 30}" y="${y}" dominant-baseline="middle">${escapeXml(series.name)}</text>`,
    ];
  });
}

/** One panel, drawn with its top-left corner at (`left`, `top`). */
function renderPanel(panel: Panel, left: number, top: number): string {
  const box = { left: left + MARGIN.left, right: left + PANEL_WIDTH - MARGIN.right, top: top + MARGIN.top, bottom: top + PANEL_HEIGHT - MARGIN.bottom };
  const points = panel.series.flatMap((s) => s.points);
  // A log x axis labels the x values measured (1, 4, 16, 64, 256 in flight) when there are few of them.
  const xs = [...new Set(points.map((p) => p.x))].filter((x) => x > 0).sort((a, b) => a - b);
  const ownTicks = panel.xLog && xs.length >= 2 && xs.length <= 10 ? xs : undefined;
  const x = makeScale([...points.map((p) => p.x), ...(panel.markers ?? []).map((m) => m.x)], panel.xLog === true, false, box.left, box.right, ownTicks);
  const y = makeScale(
    points.map((p) => p.y),
    panel.yLog === true,
    panel.yFromZero !== false,
    box.bottom,
    box.top,
  );
  const colors = panel.series.map((s, i) => s.color ?? PALETTE[i % PALETTE.length] ?? '#000');
  return [...axes(panel, x, y, box), ...markers(panel, x, box), ...lines(panel, x, y, colors), ...legend(panel, colors, box.left, top + PANEL_HEIGHT + 4)].join(
    '\n',
  );
}

/** The whole SVG document: the panels side by side, each with its legend below it. */
export function renderChart(chart: Chart): string {
  const legendHeight = Math.max(0, ...chart.panels.map((p) => p.series.length)) * LEGEND_LINE + 8;
  const panelsWidth = PANEL_WIDTH * Math.max(1, chart.panels.length);
  // Wide enough for the title and subtitle (about 9 and 6 px a character), the panels centred.
  const width = Math.max(panelsWidth, chart.title.length * 9 + 40, (chart.subtitle?.length ?? 0) * 6 + 40);
  const height = HEADER + PANEL_HEIGHT + legendHeight;
  const offset = Math.round((width - panelsWidth) / 2);
  const body = chart.panels.map((panel, i) => renderPanel(panel, offset + i * PANEL_WIDTH, HEADER)).join('\n');
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="Helvetica, Arial, sans-serif" font-size="11" role="img">
<title>${escapeXml(chart.title)}</title>
<style>.title{font-size:16px;font-weight:bold}.subtitle{fill:#555}.panel-title{font-size:13px;font-weight:bold}.label{font-size:12px}.marker{fill:#555;font-style:italic}</style>
<rect width="100%" height="100%" fill="#fff"/>
<text x="${width / 2}" y="22" text-anchor="middle" class="title">${escapeXml(chart.title)}</text>
${chart.subtitle ? `<text x="${width / 2}" y="40" text-anchor="middle" class="subtitle">${escapeXml(chart.subtitle)}</text>` : ''}
${body}
</svg>
`;
}
