import { connectionsChartSvg, escapeXml } from './chart.js';
import type { RunResult } from './fleet.js';
import { summaryHeader, summaryRows } from './summary.js';

export const SERIES_COLORS: readonly string[] = ['#e6842a', '#1f77b4', '#2ca02c', '#9467bd'];

export interface ReportInput {
  readonly title: string;
  /** Lines describing the run: plan, server, limit. */
  readonly details: readonly string[];
  readonly results: readonly RunResult[];
  readonly limit: number;
  readonly generatedAt: Date;
}

/** A self-contained HTML page: inline CSS, the table, and an inline SVG chart per run plus one overlay. No scripts, no external assets. */
export function renderHtmlReport(input: ReportInput): string {
  const { results, limit } = input;
  const series = results.map((r, index) => ({ name: r.app, color: SERIES_COLORS[index % SERIES_COLORS.length] ?? '#333', points: r.timeline }));
  const overlay = connectionsChartSvg({ title: `Connections of the app user over time (limit ${limit})`, series, limit });
  const perRun = results
    .map((r, index) =>
      connectionsChartSvg({
        title: `${r.app}: peak ${r.peakConnections} / ${limit}, ${r.zombiesLeftOpen} zombies left`,
        series: series.slice(index, index + 1),
        limit,
        bands: r.waveBands,
        height: 240,
      }),
    )
    .join('\n');
  const header = summaryHeader(results);
  const rows = summaryRows(results);
  const table = [
    `<tr>${header.map((cell) => `<th>${escapeXml(cell)}</th>`).join('')}</tr>`,
    ...rows.map(
      (row) =>
        `<tr>${row.map((cell, index) => (index === 0 ? `<td class="label${cell.startsWith('  ') ? ' sub' : ''}">${escapeXml(cell.trim())}</td>` : `<td>${escapeXml(cell)}</td>`)).join('')}</tr>`,
    ),
  ].join('\n');
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeXml(input.title)}</title>
<style>
  body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color: #222; margin: 2rem auto; max-width: 960px; padding: 0 1rem; }
  h1 { font-size: 1.5rem; margin-bottom: .25rem; }
  .meta { color: #666; margin-top: 0; }
  ul.details { padding-left: 1.2rem; color: #444; }
  table { border-collapse: collapse; margin: 1rem 0 2rem; min-width: 60%; }
  th, td { border-bottom: 1px solid #e5e5e5; padding: .35rem .8rem; text-align: right; font-variant-numeric: tabular-nums; }
  th { background: #f6f7f9; }
  td.label { text-align: left; }
  td.sub { padding-left: 2rem; color: #555; }
  figure { margin: 1rem 0; }
  svg { max-width: 100%; height: auto; border: 1px solid #eee; }
  .descr { color: #555; }
</style>
</head>
<body>
<h1>${escapeXml(input.title)}</h1>
<p class="meta">Generated ${escapeXml(input.generatedAt.toISOString())}</p>
<ul class="details">
${input.details.map((line) => `  <li>${escapeXml(line)}</li>`).join('\n')}
</ul>
<h2>Results</h2>
<table>
${table}
</table>
<ul class="descr">
${results.map((r) => `  <li><strong>${escapeXml(r.app)}</strong>: ${escapeXml(r.description)}</li>`).join('\n')}
</ul>
<h2>Database connections over time</h2>
<figure>
${overlay}
</figure>
<figure>
${perRun}
</figure>
<p class="descr">Connections of the run's own user, sampled from the processlist every ~20 ms (plotted every 100 ms). Shaded: the waves; between them every container is frozen, and some are dropped without closing their connection.</p>
</body>
</html>
`;
}
