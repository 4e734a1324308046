/** A pure SVG line chart of database connections over time, with the connection limit as a dashed line. */

export interface ChartPoint {
  /** Milliseconds since the run started. */
  readonly tMs: number;
  readonly value: number;
}

export interface ChartSeries {
  readonly name: string;
  readonly color: string;
  readonly points: readonly ChartPoint[];
}

export interface ChartOptions {
  readonly series: readonly ChartSeries[];
  readonly limit: number;
  readonly title?: string;
  readonly width?: number;
  readonly height?: number;
  /** Shaded time ranges (e.g. the waves), in ms since the start. */
  readonly bands?: ReadonlyArray<{ readonly fromMs: number; readonly toMs: number; readonly label: string }>;
}

export function escapeXml(text: string): string {
  return text.replace(/[&<>"']/g, (ch) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[ch] ?? ch);
}

/** Round tick values for an axis from 0 up to the first tick at or above max: steps of 1, 2 or 5 times a power of ten, about `count` of them. */
export function niceTicks(max: number, count = 5): number[] {
  if (!(max > 0)) return [0];
  const raw = max / count;
  const power = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * power).find((candidate) => candidate >= raw) ?? 10 * power;
  const ticks: number[] = [];
  const steps = Math.ceil(max / step - 1e-9);
  for (let i = 0; i <= steps; i += 1) ticks.push(Math.round(i * step * 1e6) / 1e6);
  return ticks;
}

const round = (n: number): string => (Math.round(n * 10) / 10).toString();

/**
 * Builds a standalone `<svg>` element (no scripts, no external references): one step line per
 * series, the limit as a dashed red line, axes with ticks in seconds and connections, a legend.
 */
export function connectionsChartSvg(options: ChartOptions): string {
  const width = options.width ?? 860;
  const height = options.height ?? 320;
  const margin = { top: options.title ? 34 : 14, right: 150, bottom: 40, left: 48 };
  const plotW = width - margin.left - margin.right;
  const plotH = height - margin.top - margin.bottom;
  const maxT = Math.max(1, ...options.series.flatMap((s) => s.points.map((p) => p.tMs)), ...(options.bands ?? []).map((b) => b.toMs));
  const maxV = Math.max(1, options.limit * 1.15, ...options.series.flatMap((s) => s.points.map((p) => p.value)));
  const yTicks = niceTicks(maxV);
  const topV = Math.max(maxV, yTicks.at(-1) ?? maxV);
  const x = (t: number): number => margin.left + (t / maxT) * plotW;
  const y = (v: number): number => margin.top + plotH - (v / topV) * plotH;

  const parts: string[] = [];
  parts.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" role="img" aria-label="${escapeXml(options.title ?? 'Database connections over time')}" font-family="system-ui, sans-serif" font-size="12">`,
  );
  parts.push(`<rect x="0" y="0" width="${width}" height="${height}" fill="#ffffff"/>`);
  if (options.title) parts.push(`<text x="${margin.left}" y="20" font-size="14" font-weight="600" fill="#222">${escapeXml(options.title)}</text>`);
  for (const band of options.bands ?? []) {
    parts.push(
      `<rect class="band" x="${round(x(band.fromMs))}" y="${margin.top}" width="${round(Math.max(0, x(band.toMs) - x(band.fromMs)))}" height="${plotH}" fill="#f2f4f8"><title>${escapeXml(band.label)}</title></rect>`,
    );
  }
  for (const tick of yTicks) {
    parts.push(`<line x1="${margin.left}" x2="${margin.left + plotW}" y1="${round(y(tick))}" y2="${round(y(tick))}" stroke="#e3e3e3"/>`);
    parts.push(`<text x="${margin.left - 6}" y="${round(y(tick) + 4)}" text-anchor="end" fill="#555">${tick}</text>`);
  }
  for (const tick of niceTicks(maxT / 1000, 8).filter((t) => t * 1000 <= maxT)) {
    const tx = x(tick * 1000);
    parts.push(`<line x1="${round(tx)}" x2="${round(tx)}" y1="${margin.top + plotH}" y2="${margin.top + plotH + 4}" stroke="#555"/>`);
    parts.push(`<text x="${round(tx)}" y="${margin.top + plotH + 16}" text-anchor="middle" fill="#555">${tick}s</text>`);
  }
  parts.push(`<text x="${margin.left + plotW / 2}" y="${height - 6}" text-anchor="middle" fill="#333">time since the run started</text>`);
  parts.push(`<text transform="translate(12 ${margin.top + plotH / 2}) rotate(-90)" text-anchor="middle" fill="#333">connections of the app user</text>`);
  parts.push(
    `<line x1="${margin.left}" x2="${margin.left}" y1="${margin.top}" y2="${margin.top + plotH}" stroke="#555"/><line x1="${margin.left}" x2="${margin.left + plotW}" y1="${margin.top + plotH}" y2="${margin.top + plotH}" stroke="#555"/>`,
  );
  // The legend sits under the limit's label, so they never overlap.
  const legendTop = Math.round(y(options.limit)) + 28;
  options.series.forEach((series, index) => {
    if (series.points.length > 0) {
      // A step line: the count holds until the next sample.
      let d = '';
      series.points.forEach((point, i) => {
        const px = round(x(point.tMs));
        const py = round(y(point.value));
        d += i === 0 ? `M${px} ${py}` : `H${px}V${py}`;
      });
      parts.push(
        `<path class="series" data-series="${escapeXml(series.name)}" d="${d}" fill="none" stroke="${escapeXml(series.color)}" stroke-width="3" stroke-linejoin="round"/>`,
      );
    }
    const ly = legendTop + index * 18;
    const lx = margin.left + plotW + 6;
    parts.push(`<line x1="${lx}" x2="${lx + 18}" y1="${ly - 4}" y2="${ly - 4}" stroke="${escapeXml(series.color)}" stroke-width="3"/>`);
    parts.push(`<text x="${lx + 22}" y="${ly}" fill="#222">${escapeXml(series.name)}</text>`);
  });
  // The limit on top, so a series that sits on it does not hide it.
  const limitY = round(y(options.limit));
  parts.push(
    `<line class="limit" data-limit="${options.limit}" x1="${margin.left}" x2="${margin.left + plotW}" y1="${limitY}" y2="${limitY}" stroke="#d62728" stroke-width="1.5" stroke-dasharray="6 4"/>`,
  );
  parts.push(`<text x="${margin.left + plotW + 6}" y="${round(y(options.limit) + 4)}" fill="#d62728">limit ${options.limit}</text>`);
  parts.push('</svg>');
  return parts.join('\n');
}
