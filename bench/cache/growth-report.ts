/**
 * The growth benchmark's report: medians over runs, a Markdown table per scenario, the growth rate
 * of each curve as computed from the numbers (a fit, not a claim), and one SVG chart per scenario.
 * Ratios are cachefront ÷ raw of the quantity in the column, taken within each run and then the
 * median over runs, as report.ts does.
 */
import {
  type ConcurrencyPoint,
  type GrowthPlan,
  type GrowthScenario,
  type HitCost,
  type KeysPoint,
  MANY_LABELS,
  type ManyApproach,
  type ManyPoint,
  SIDE_LABELS,
  type SideName,
  type SizePoint,
  type TagsPoint,
} from './growth.js';
import { median } from './measure.js';
import { type Chart, type Point, type Series, shortBytes, shortNumber } from './svg.js';

export interface GrowthRunRecord {
  readonly run: number;
  readonly prefix: string;
  readonly keys: readonly KeysPoint[];
  readonly tags: readonly TagsPoint[];
  readonly size: readonly SizePoint[];
  readonly many: readonly ManyPoint[];
  readonly concurrency: readonly ConcurrencyPoint[];
  /** Other benchmarks seen while this run measured (a disturbed run is not reported). */
  readonly disturbedBy: readonly string[];
}

export interface ScenarioReport {
  readonly scenario: GrowthScenario;
  readonly markdown: string;
  readonly chart: Chart;
}

// ---------------------------------------------------------------------------------------------
// Numbers

const fmt = (n: number, digits = 0) =>
  Number.isFinite(n) ? n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits }) : 'n/a';

/** Three significant digits, at most two decimals: 0.123, 12.3, 1,234. */
const sig = (n: number) => (Number.isFinite(n) ? fmt(n, Math.abs(n) >= 100 ? 0 : Math.abs(n) >= 10 ? 1 : Math.abs(n) >= 1 ? 2 : 3) : 'n/a');

const times = (n: number) => `${fmt(n, 2)}×`;

/** "cachefront / raw (ratio×)". */
const pair = (cf: number, raw: number, ratio: number) => `${sig(cf)} / ${sig(raw)} (${times(ratio)})`;

function medianOf<T>(items: readonly T[], pick: (item: T) => number): number {
  return median(items.map(pick));
}

/** The median over runs of cachefront ÷ raw within each run, for the points `match` selects. */
function ratioOverRuns<T extends { side: SideName }>(
  runs: readonly GrowthRunRecord[],
  list: (run: GrowthRunRecord) => readonly T[],
  match: (point: T) => boolean,
  pick: (point: T) => number,
): number {
  return median(
    runs.flatMap((run) => {
      const cf = list(run).find((p) => p.side === 'cachefront' && match(p));
      const raw = list(run).find((p) => p.side === 'raw' && match(p));
      return cf && raw ? [pick(cf) / pick(raw)] : [];
    }),
  );
}

const uniq = <T>(values: readonly T[]): T[] => [...new Set(values)];

// ---------------------------------------------------------------------------------------------
// Growth rates

interface Fit {
  readonly a: number;
  readonly b: number;
}

/** Least squares y = a + b·x. */
function fitLine(xs: readonly number[], ys: readonly number[]): Fit {
  const n = xs.length;
  const mx = xs.reduce((s, x) => s + x, 0) / n;
  const my = ys.reduce((s, y) => s + y, 0) / n;
  let sxy = 0;
  let sxx = 0;
  xs.forEach((x, i) => {
    sxy += (x - mx) * ((ys[i] ?? 0) - my);
    sxx += (x - mx) ** 2;
  });
  const b = sxx === 0 ? 0 : sxy / sxx;
  return { a: my - b * mx, b };
}

/** R² of `predicted` against `ys` (1: the model explains every difference). */
function rSquared(ys: readonly number[], predicted: readonly number[]): number {
  const my = ys.reduce((s, y) => s + y, 0) / ys.length;
  const total = ys.reduce((s, y) => s + (y - my) ** 2, 0);
  const residual = ys.reduce((s, y, i) => s + (y - (predicted[i] ?? 0)) ** 2, 0);
  return total === 0 ? 1 : 1 - residual / total;
}

/** The word for a power law x^slope over a range of x spanning `xRatio` (last ÷ first x). */
function powerWord(slope: number, xRatio: number): string {
  const change = xRatio ** slope;
  if (change >= 0.8 && change <= 1.25) return 'about flat';
  if (slope < 0) return 'falling';
  return slope < 0.8 ? 'sublinear' : slope <= 1.25 ? 'linear' : 'superlinear';
}

/**
 * Where a curve stops moving: every log-log segment after some point is flat (|slope| < 0.1) while
 * every one before it rises (or every one falls) steeply (|slope| > 0.25) — throughput that
 * saturates once the cores are busy. Returns that point and the mean slope before it.
 */
function saturation(points: readonly Point[]): { x: number; slope: number } | undefined {
  const local = points.slice(1).map((p, i) => {
    const q = points[i] as Point;
    return Math.log(p.y / q.y) / Math.log(p.x / q.x);
  });
  let k = local.length;
  while (k > 0 && Math.abs(local[k - 1] ?? 0) < 0.1) k -= 1;
  if (k < 1 || k >= local.length) return undefined;
  const rising = local.slice(0, k);
  const sign = Math.sign(rising[0] ?? 0);
  if (!rising.every((s) => Math.abs(s) > 0.25 && Math.sign(s) === sign)) return undefined;
  return { x: (points[k] as Point).x, slope: rising.reduce((sum, s) => sum + s, 0) / rising.length };
}

export interface GrowthAxis {
  /** The x quantity, plural: "keys", "tags", "bytes". */
  readonly x: string;
  /** Unit of y: "µs", "ops/s", "B". */
  readonly unit: string;
  /** The slope of a linear fit is given per this many x (per 1,000 bytes, per tag). */
  readonly per?: number;
  readonly formatX?: (x: number) => string;
}

/**
 * The growth rate of a curve, named from its numbers: "flat" when it moves less than 25% over the
 * whole range; otherwise the best of three fits by R² — linear (a + b·x), logarithmic
 * (a + b·ln x) and a power law (c·x^s) — with the log-log slope s always given (≈0 flat, ≈1
 * linear, 2 quadratic). A curve that rises (or falls) and then stays flat is named for that
 * (`saturation`). When no fit explains half the variance (R² < 0.5) the points are noise around a
 * level, or no trend at all. Two points allow only the slope.
 */
export function describeGrowth(points: readonly Point[], axis: GrowthAxis): string {
  const usable = points.filter((p) => Number.isFinite(p.x) && Number.isFinite(p.y) && p.x > 0 && p.y > 0).sort((p, q) => p.x - q.x);
  if (usable.length < 2) return 'n/a (fewer than 2 points)';
  const xs = usable.map((p) => p.x);
  const ys = usable.map((p) => p.y);
  const power = fitLine(xs.map(Math.log), ys.map(Math.log));
  const slope = power.b;
  const fx = axis.formatX ?? ((x: number) => fmt(x));
  const first = usable[0] as Point;
  const last = usable[usable.length - 1] as Point;
  const range = `log-log slope ${fmt(slope, 2)}; ${sig(first.y)} → ${sig(last.y)} ${axis.unit} (${times(last.y / first.y)}) from ${fx(first.x)} to ${fx(last.x)}${axis.formatX ? '' : ` ${axis.x}`}`;
  if (Math.max(...ys) / Math.min(...ys) <= 1.25) return `**flat** (${range})`;
  if (usable.length < 3) return `**${powerWord(slope, last.x / first.x)}** (${range})`;
  const knee = saturation(usable);
  if (knee !== undefined) {
    return `**${knee.slope > 0 ? 'rises' : 'falls'} (~${axis.x}^${fmt(knee.slope, 2)}) until ${fx(knee.x)}${axis.formatX ? '' : ` ${axis.x}`}, then flat** (${range})`;
  }
  const linear = fitLine(xs, ys);
  const logarithmic = fitLine(xs.map(Math.log), ys);
  const fits = [
    {
      kind: 'linear',
      r2: rSquared(
        ys,
        xs.map((x) => linear.a + linear.b * x),
      ),
    },
    {
      kind: 'log',
      r2: rSquared(
        ys,
        xs.map((x) => logarithmic.a + logarithmic.b * Math.log(x)),
      ),
    },
    {
      kind: 'power',
      r2: rSquared(
        ys,
        xs.map((x) => Math.exp(power.a) * x ** slope),
      ),
    },
  ].sort((p, q) => q.r2 - p.r2);
  const best = fits[0] ?? { kind: 'power', r2: Number.NaN };
  const r2 = `R² ${fmt(best.r2, 3)}`;
  if (best.r2 < 0.5) {
    // No model explains the points: noise. Flat if the fitted power law moves less than 25% over the range.
    const fitted = Math.exp(Math.abs(slope) * Math.log(last.x / first.x));
    return fitted <= 1.25 ? `**flat within noise** (best fit ${r2}; ${range})` : `**no clear trend**, noisy (best fit ${r2}; ${range})`;
  }
  const per = axis.per ?? 1;
  if (best.kind === 'linear') {
    const word = linear.b >= 0 ? 'linear' : 'falling linearly';
    return `**${word} in ${axis.x}**: ≈ ${sig(linear.a)} ${axis.unit} ${linear.b >= 0 ? '+' : '−'} ${sig(Math.abs(linear.b * per))} ${axis.unit} per ${per === 1 ? axis.x.replace(/s$/, '') : `${fmt(per)} ${axis.x}`} (${r2}; ${range})`;
  }
  if (best.kind === 'log') {
    const word = logarithmic.b >= 0 ? 'logarithmic' : 'falling logarithmically';
    return `**${word} in ${axis.x}**: ${logarithmic.b >= 0 ? '+' : '−'}${sig(Math.abs(logarithmic.b * Math.LN10))} ${axis.unit} per ×10 ${axis.x} (${r2}; ${range})`;
  }
  return `**${powerWord(slope, last.x / first.x)}**, ~${axis.x}^${fmt(slope, 2)} (${r2}; ${range})`;
}

const growthList = (lines: readonly [string, string][]) => lines.map(([what, growth]) => `- ${what}: ${growth}`).join('\n');

// ---------------------------------------------------------------------------------------------
// Per-scenario helpers

/** For each x, the median over runs of `pick` for one side. */
function curve<T extends { side: SideName }>(points: readonly T[], side: SideName, xOf: (p: T) => number, pick: (p: T) => number): Point[] {
  const mine = points.filter((p) => p.side === side);
  return uniq(mine.map(xOf))
    .sort((a, b) => a - b)
    .map((x) => ({
      x,
      y: medianOf(
        mine.filter((p) => xOf(p) === x),
        pick,
      ),
    }));
}

const seqUs = (h: HitCost) => h.sequentialMeanUs;
const p99Us = (h: HitCost) => h.sequential.p99Ms * 1000;
const concOps = (h: HitCost) => h.concurrent.opsPerSec;
const cpuUs = (h: HitCost) => h.concurrent.cpuUsPerOp;

interface MissCounts {
  readonly loadsWhileMeasuring: number;
  readonly timeoutsWhileMeasuring: number;
  readonly bypassesWhileMeasuring: number;
}

/** Rows loaded while measuring hits, summed over runs, with how many of those reads met a Redis timeout or the open breaker. */
function missCell(counts: readonly MissCounts[]): string {
  const sum = (pick: (c: MissCounts) => number) => counts.reduce((total, c) => total + pick(c), 0);
  const loads = sum((c) => c.loadsWhileMeasuring);
  const timeouts = sum((c) => c.timeoutsWhileMeasuring);
  const bypasses = sum((c) => c.bypassesWhileMeasuring);
  if (loads === 0) return '0';
  return `**${fmt(loads)}** (${fmt(timeouts)} Redis timeouts${bypasses > 0 ? `, ${fmt(bypasses)} breaker bypasses` : ''})`;
}

const misses = (points: readonly { hit: HitCost }[]) => missCell(points.map((p) => p.hit));

/** Said under a table with misses: what they are, so nobody reads them as a bug of the benchmark. */
const MISS_NOTE =
  'Misses while measuring are reads that cachefront answered from the loader although the entry was cached: a Redis call past `commandTimeoutMs` (50 ms by default) falls through to the loader by design. Those reads are in the numbers of that row.';

const anyMisses = (counts: readonly MissCounts[]) => counts.some((c) => c.loadsWhileMeasuring > 0);

function hitCells<T extends { side: SideName; hit: HitCost }>(
  runs: readonly GrowthRunRecord[],
  list: (r: GrowthRunRecord) => readonly T[],
  match: (p: T) => boolean,
): string[] {
  const all = runs.flatMap(list).filter(match);
  const cf = all.filter((p) => p.side === 'cachefront');
  const raw = all.filter((p) => p.side === 'raw');
  const cell = (pick: (h: HitCost) => number) =>
    pair(
      medianOf(cf, (p) => pick(p.hit)),
      medianOf(raw, (p) => pick(p.hit)),
      ratioOverRuns(runs, list, match, (p) => pick(p.hit)),
    );
  return [cell(seqUs), cell(p99Us), cell(concOps), cell(cpuUs), misses(all)];
}

// ---------------------------------------------------------------------------------------------
// 1. keys

function keysReport(runs: readonly GrowthRunRecord[], plan: GrowthPlan): ScenarioReport {
  const all = runs.flatMap((r) => r.keys);
  const inFlight = plan.keys.inFlight;
  const hitLines = [
    `| entries | sequential mean µs | sequential p99 µs | ${inFlight} in flight ops/s | client CPU µs per hit (${inFlight} in flight) | misses while measuring |`,
    '|---:|---:|---:|---:|---:|---:|',
  ];
  const memLines = [
    '| entries | used_memory Δ per entry, B | MEMORY USAGE of the value key, B | + its tag key, B | fill s | delete s |',
    '|---:|---:|---:|---:|---:|---:|',
  ];
  for (const keys of uniq(all.map((p) => p.keys)).sort((a, b) => a - b)) {
    const match = (p: KeysPoint) => p.keys === keys;
    hitLines.push(`| ${fmt(keys)} | ${hitCells(runs, (r) => r.keys, match).join(' | ')} |`);
    const ratio = (pick: (p: KeysPoint) => number) => ratioOverRuns(runs, (r) => r.keys, match, pick);
    const of = (side: SideName, pick: (p: KeysPoint) => number) =>
      medianOf(
        all.filter((p) => match(p) && p.side === side),
        pick,
      );
    const both = (pick: (p: KeysPoint) => number) => pair(of('cachefront', pick), of('raw', pick), ratio(pick));
    memLines.push(
      `| ${fmt(keys)} | ${both((p) => p.memoryPerEntry)} | ${both((p) => p.memoryUsageValue)} | ${fmt(of('cachefront', (p) => p.memoryUsageTags))} | ${sig(of('cachefront', (p) => p.fillMs / 1000))} / ${sig(of('raw', (p) => p.fillMs / 1000))} | ${sig(of('cachefront', (p) => p.deleteMs / 1000))} / ${sig(of('raw', (p) => p.deleteMs / 1000))} |`,
    );
  }
  const c = (side: SideName, pick: (p: KeysPoint) => number) => curve(all, side, (p) => p.keys, pick);
  const axis = { x: 'keys', unit: 'µs', per: 1_000_000 };
  const ratioCurve = uniq(all.map((p) => p.keys)).map((keys) => ({
    x: keys,
    y: ratioOverRuns(
      runs,
      (r) => r.keys,
      (p) => p.keys === keys,
      (p) => seqUs(p.hit),
    ),
  }));
  const growth: [string, string][] = [
    [
      'cachefront sequential mean',
      describeGrowth(
        c('cachefront', (p) => seqUs(p.hit)),
        axis,
      ),
    ],
    [
      'raw sequential mean',
      describeGrowth(
        c('raw', (p) => seqUs(p.hit)),
        axis,
      ),
    ],
    ['cachefront ÷ raw, sequential mean', describeGrowth(ratioCurve, { ...axis, unit: '×' })],
    [
      `cachefront ${inFlight} in flight ops/s`,
      describeGrowth(
        c('cachefront', (p) => concOps(p.hit)),
        { ...axis, unit: 'ops/s' },
      ),
    ],
    [
      'cachefront client CPU per hit',
      describeGrowth(
        c('cachefront', (p) => cpuUs(p.hit)),
        axis,
      ),
    ],
    [
      'cachefront Redis memory per entry (used_memory Δ)',
      describeGrowth(
        c('cachefront', (p) => p.memoryPerEntry),
        { ...axis, unit: 'B' },
      ),
    ],
    [
      'raw Redis memory per entry (used_memory Δ)',
      describeGrowth(
        c('raw', (p) => p.memoryPerEntry),
        { ...axis, unit: 'B' },
      ),
    ],
  ];
  const markdown = [
    `### keys: entries in Redis, ${fmt(plan.keys.sizes[0] ?? 0)} to ${fmt(plan.keys.sizes[plan.keys.sizes.length - 1] ?? 0)}`,
    `Each side filled alone (cachefront: \`getMany\` batches of 1,000; raw: pipelined \`SET … PX\`), reads uniformly at random over all entries (a shuffled order), then its keys deleted. Cells: cachefront / raw (cachefront ÷ raw). MEMORY USAGE: median of ${plan.keys.sampleKeys} random entries; cachefront's entry also has its own tag key \`product:<id>\`.`,
    hitLines.join('\n'),
    memLines.join('\n'),
    ...(anyMisses(all.map((p) => p.hit)) ? [MISS_NOTE] : []),
    `Growth:\n${growthList(growth)}`,
  ].join('\n\n');
  const xFormat = shortNumber;
  const chart: Chart = {
    title: 'cachefront hit cost and memory vs entries in Redis',
    panels: [
      {
        title: 'Hit cost',
        xLabel: 'entries in Redis (log)',
        yLabel: 'µs',
        xLog: true,
        formatX: xFormat,
        series: [
          { name: `${SIDE_LABELS.cachefront}: sequential mean`, points: c('cachefront', (p) => seqUs(p.hit)) },
          { name: `${SIDE_LABELS.raw}: sequential mean`, points: c('raw', (p) => seqUs(p.hit)) },
          { name: `cachefront: CPU per hit (${inFlight} in flight)`, points: c('cachefront', (p) => cpuUs(p.hit)), dashed: true },
          { name: `raw: CPU per hit (${inFlight} in flight)`, points: c('raw', (p) => cpuUs(p.hit)), dashed: true },
        ],
      },
      {
        title: 'Redis memory per entry',
        xLabel: 'entries in Redis (log)',
        yLabel: 'bytes per entry',
        xLog: true,
        formatX: xFormat,
        series: [
          { name: 'cachefront: used_memory Δ ÷ entries', points: c('cachefront', (p) => p.memoryPerEntry) },
          { name: 'raw: used_memory Δ ÷ entries', points: c('raw', (p) => p.memoryPerEntry) },
          { name: 'cachefront: MEMORY USAGE value + tag key', points: c('cachefront', (p) => p.memoryUsageValue + p.memoryUsageTags), dashed: true },
          { name: 'raw: MEMORY USAGE value key', points: c('raw', (p) => p.memoryUsageValue), dashed: true },
        ],
      },
    ],
  };
  return { scenario: 'keys', markdown, chart };
}

// ---------------------------------------------------------------------------------------------
// 2. tags

function tagsReport(runs: readonly GrowthRunRecord[], plan: GrowthPlan): ScenarioReport {
  const all = runs.flatMap((r) => r.tags);
  const inFlight = plan.tags.inFlight;
  const raw = all.filter((p) => p.side === 'raw');
  /** cachefront at `tags` ÷ the same run's raw baseline. */
  const ratio = (tags: number, pick: (h: HitCost) => number) =>
    median(
      runs.flatMap((r) => {
        const cf = r.tags.find((p) => p.side === 'cachefront' && p.tags === tags);
        const base = r.tags.find((p) => p.side === 'raw');
        return cf && base ? [pick(cf.hit) / pick(base.hit)] : [];
      }),
    );
  const lines = [
    `| tags per entry | stored bytes | sequential mean µs (÷ raw) | sequential p99 µs | ${inFlight} in flight ops/s (÷ raw) | client CPU µs per hit (÷ raw) | misses |`,
    '|---:|---:|---:|---:|---:|---:|---:|',
  ];
  const row = (label: string, points: readonly TagsPoint[], tags: number | undefined) => {
    const of = (pick: (h: HitCost) => number) => medianOf(points, (p) => pick(p.hit));
    const withRatio = (pick: (h: HitCost) => number) => `${sig(of(pick))}${tags === undefined ? '' : ` (${times(ratio(tags, pick))})`}`;
    return `| ${label} | ${fmt(medianOf(points, (p) => p.storedBytes))} | ${withRatio(seqUs)} | ${sig(of(p99Us))} | ${withRatio(concOps)} | ${withRatio(cpuUs)} | ${misses(points)} |`;
  };
  const counts = uniq(all.filter((p) => p.side === 'cachefront').map((p) => p.tags)).sort((a, b) => a - b);
  for (const tags of counts)
    lines.push(
      row(
        `cachefront, ${tags}`,
        all.filter((p) => p.side === 'cachefront' && p.tags === tags),
        tags,
      ),
    );
  lines.push(row('raw (no tags), baseline', raw, undefined));
  const cf = (pick: (p: TagsPoint) => number) => curve(all, 'cachefront', (p) => p.tags, pick);
  const flatRaw = (pick: (h: HitCost) => number) => counts.map((x) => ({ x, y: medianOf(raw, (p) => pick(p.hit)) }));
  const axis = { x: 'tags', unit: 'µs' };
  const growth: [string, string][] = [
    [
      'cachefront sequential mean',
      describeGrowth(
        cf((p) => seqUs(p.hit)),
        axis,
      ),
    ],
    [
      `cachefront ${inFlight} in flight ops/s`,
      describeGrowth(
        cf((p) => concOps(p.hit)),
        { ...axis, unit: 'ops/s' },
      ),
    ],
    [
      'cachefront client CPU per hit',
      describeGrowth(
        cf((p) => cpuUs(p.hit)),
        axis,
      ),
    ],
    [
      'cachefront stored bytes per entry',
      describeGrowth(
        cf((p) => p.storedBytes),
        { ...axis, unit: 'B' },
      ),
    ],
  ];
  const markdown = [
    `### tags: tags per entry, ${counts.join(', ')}`,
    `${fmt(plan.tags.keys)} entries per point, reads uniformly at random. Tags: \`product:<id>\`, \`brand:<id % 50>\`, then \`t<k>:<id % 7>\`; each is a key cachefront reads with the entry (one MGET) and checks. Raw ioredis has no tags: one baseline per run, the ratios are against it.`,
    lines.join('\n'),
    ...(anyMisses(all.map((p) => p.hit)) ? [MISS_NOTE] : []),
    `Growth:\n${growthList(growth)}`,
  ].join('\n\n');
  const chart: Chart = {
    title: 'cachefront hit cost vs tags per entry',
    panels: [
      {
        title: 'Hit cost',
        xLabel: 'tags per entry (log)',
        yLabel: 'µs',
        xLog: true,
        series: [
          { name: `${SIDE_LABELS.cachefront}: sequential mean`, points: cf((p) => seqUs(p.hit)) },
          { name: `${SIDE_LABELS.raw} (no tags): sequential mean`, points: flatRaw(seqUs) },
          { name: `cachefront: CPU per hit (${inFlight} in flight)`, points: cf((p) => cpuUs(p.hit)), dashed: true },
          { name: `raw: CPU per hit (${inFlight} in flight)`, points: flatRaw(cpuUs), dashed: true },
        ],
      },
    ],
  };
  return { scenario: 'tags', markdown, chart };
}

// ---------------------------------------------------------------------------------------------
// 3. size

function sizeReport(runs: readonly GrowthRunRecord[], plan: GrowthPlan, compressAboveBytes: number): ScenarioReport {
  const all = runs.flatMap((r) => r.size);
  const inFlight = plan.size.inFlight;
  const lines = [
    `| value (JSON) | entries | stored bytes | deflated | sequential mean µs | sequential p99 µs | ${inFlight} in flight ops/s | client CPU µs per hit (${inFlight} in flight) | misses |`,
    '|---:|---:|---:|---|---:|---:|---:|---:|---:|',
  ];
  const sizes = uniq(all.map((p) => p.bytes)).sort((a, b) => a - b);
  for (const bytes of sizes) {
    const match = (p: SizePoint) => p.bytes === bytes;
    const points = all.filter(match);
    const of = (side: SideName, pick: (p: SizePoint) => number) =>
      medianOf(
        points.filter((p) => p.side === side),
        pick,
      );
    const stored = pair(
      of('cachefront', (p) => p.storedBytes),
      of('raw', (p) => p.storedBytes),
      ratioOverRuns(
        runs,
        (r) => r.size,
        match,
        (p) => p.storedBytes,
      ),
    );
    const deflated = points.some((p) => p.side === 'cachefront' && p.compressed) ? 'yes' : 'no';
    lines.push(`| ${shortBytes(bytes)} | ${fmt(of('raw', (p) => p.keys))} | ${stored} | ${deflated} | ${hitCells(runs, (r) => r.size, match).join(' | ')} |`);
  }
  const c = (side: SideName, pick: (p: SizePoint) => number) => curve(all, side, (p) => p.bytes, pick);
  const axis = { x: 'bytes', unit: 'µs', per: 1000, formatX: shortBytes };
  const growth: [string, string][] = [
    [
      'cachefront sequential mean',
      describeGrowth(
        c('cachefront', (p) => seqUs(p.hit)),
        axis,
      ),
    ],
    [
      'raw sequential mean',
      describeGrowth(
        c('raw', (p) => seqUs(p.hit)),
        axis,
      ),
    ],
    [
      'cachefront client CPU per hit',
      describeGrowth(
        c('cachefront', (p) => cpuUs(p.hit)),
        axis,
      ),
    ],
    [
      'raw client CPU per hit',
      describeGrowth(
        c('raw', (p) => cpuUs(p.hit)),
        axis,
      ),
    ],
    [
      'cachefront stored bytes',
      describeGrowth(
        c('cachefront', (p) => p.storedBytes),
        { ...axis, unit: 'B' },
      ),
    ],
  ];
  const firstDeflated = sizes.find((bytes) => all.some((p) => p.bytes === bytes && p.side === 'cachefront' && p.compressed));
  const markdown = [
    `### size: value size, ${sizes.map(shortBytes).join(', ')}`,
    `A row \`{ id, sku, body }\` whose body is random words from a ~100-word dictionary, padded to the size (it deflates about as product copy does). Entries per size: as many as fit in ${fmt(plan.size.totalBytes / 1024 / 1024)} MiB of values (16 to 1,000). cachefront deflates payloads above \`compressAboveBytes\` (${fmt(compressAboveBytes)} B, the default); compression starts ${firstDeflated === undefined ? 'at none of these sizes' : `at ${shortBytes(firstDeflated)} here`}. \`maxValueBytes\` is passed as ${fmt(plan.size.maxValueBytes / 1024 / 1024)} MiB (the default is 1 MiB, after compression), so the largest value is cached too. Raw stores the JSON as is. Cells: cachefront / raw (cachefront ÷ raw).`,
    lines.join('\n'),
    ...(anyMisses(all.map((p) => p.hit)) ? [MISS_NOTE] : []),
    `Growth:\n${growthList(growth)}`,
  ].join('\n\n');
  const chart: Chart = {
    title: 'cachefront hit cost vs value size',
    panels: [
      {
        title: 'Hit cost',
        xLabel: 'value size, JSON bytes (log)',
        yLabel: 'µs (log)',
        xLog: true,
        yLog: true,
        formatX: shortBytes,
        markers: [{ x: compressAboveBytes, label: `compressAboveBytes = ${fmt(compressAboveBytes)} B` }],
        series: [
          { name: `${SIDE_LABELS.cachefront}: sequential mean`, points: c('cachefront', (p) => seqUs(p.hit)) },
          { name: `${SIDE_LABELS.raw}: sequential mean`, points: c('raw', (p) => seqUs(p.hit)) },
          { name: `cachefront: CPU per hit (${inFlight} in flight)`, points: c('cachefront', (p) => cpuUs(p.hit)), dashed: true },
          { name: `raw: CPU per hit (${inFlight} in flight)`, points: c('raw', (p) => cpuUs(p.hit)), dashed: true },
        ],
      },
      {
        title: 'Stored bytes per entry (STRLEN)',
        xLabel: 'value size, JSON bytes (log)',
        yLabel: 'stored bytes (log)',
        xLog: true,
        yLog: true,
        formatX: shortBytes,
        formatY: shortBytes,
        markers: [{ x: compressAboveBytes, label: 'compression starts' }],
        series: [
          { name: 'cachefront (header + payload, deflated above the threshold)', points: c('cachefront', (p) => p.storedBytes) },
          { name: 'raw (JSON)', points: c('raw', (p) => p.storedBytes) },
        ],
      },
    ],
  };
  return { scenario: 'size', markdown, chart };
}

// ---------------------------------------------------------------------------------------------
// 4. many

/** The goal: getMany of 100 keys at 50 % misses at least 10× faster than 100 awaited gets. */
const MANY_GOAL = { size: 100, missRate: 0.5, speedUp: 10 } as const;

function manyReport(runs: readonly GrowthRunRecord[], plan: GrowthPlan): ScenarioReport {
  const all = runs.flatMap((r) => r.many);
  const of = (approach: ManyApproach, size: number, missRate: number, pick: (p: ManyPoint) => number) =>
    medianOf(
      all.filter((p) => p.approach === approach && p.size === size && p.missRate === missRate),
      pick,
    );
  /** Within each run: `over`'s batch ms ÷ `under`'s; the median over runs. */
  const ratio = (over: ManyApproach, under: ManyApproach, size: number, missRate: number) =>
    median(
      runs.flatMap((r) => {
        const a = r.many.find((p) => p.approach === over && p.size === size && p.missRate === missRate);
        const b = r.many.find((p) => p.approach === under && p.size === size && p.missRate === missRate);
        return a && b ? [a.medianBatchMs / b.medianBatchMs] : [];
      }),
    );
  const lines = [
    '| keys | misses | getMany ms | loop of gets ms | speed-up (loop ÷ getMany) | raw MGET ms | raw loop ms | getMany ÷ raw MGET | loop ÷ raw loop | loader calls per batch: getMany / loop | batches timed |',
    '|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
  ];
  const sizes = uniq(all.map((p) => p.size)).sort((a, b) => a - b);
  const rates = uniq(all.map((p) => p.missRate)).sort((a, b) => a - b);
  for (const size of sizes) {
    for (const rate of rates) {
      const ms = (approach: ManyApproach) => sig(of(approach, size, rate, (p) => p.medianBatchMs));
      lines.push(
        `| ${fmt(size)} | ${fmt(rate * 100)} % | ${ms('getMany')} | ${ms('loop')} | ${times(ratio('loop', 'getMany', size, rate))} | ${ms('raw-mget')} | ${ms('raw-loop')} | ${times(ratio('getMany', 'raw-mget', size, rate))} | ${times(ratio('loop', 'raw-loop', size, rate))} | ${fmt(
          of('getMany', size, rate, (p) => p.loaderCallsPerBatch),
          1,
        )} / ${fmt(
          of('loop', size, rate, (p) => p.loaderCallsPerBatch),
          0,
        )} | ${fmt(of('getMany', size, rate, (p) => p.batches))} / ${fmt(of('loop', size, rate, (p) => p.batches))} |`,
      );
    }
  }
  const curveOf = (approach: ManyApproach, rate: number) => sizes.map((size) => ({ x: size, y: of(approach, size, rate, (p) => p.medianBatchMs) }));
  const axis = { x: 'keys', unit: 'ms', per: 100 };
  const growth: [string, string][] = rates.flatMap((rate): [string, string][] => [
    [`getMany at ${fmt(rate * 100)} % misses`, describeGrowth(curveOf('getMany', rate), axis)],
    [`loop of gets at ${fmt(rate * 100)} % misses`, describeGrowth(curveOf('loop', rate), axis)],
  ]);
  const goal = ratio('loop', 'getMany', MANY_GOAL.size, MANY_GOAL.missRate);
  const goalLine = Number.isFinite(goal)
    ? `Goal — getMany of ${MANY_GOAL.size} keys at ${MANY_GOAL.missRate * 100} % misses at least ${MANY_GOAL.speedUp}× faster than ${MANY_GOAL.size} awaited gets: **${goal >= MANY_GOAL.speedUp ? 'met' : 'missed'}** (${times(goal)}).`
    : `Goal — getMany of ${MANY_GOAL.size} keys at ${MANY_GOAL.missRate * 100} % misses ≥ ${MANY_GOAL.speedUp}× faster than a loop: not measured in this run.`;
  const markdown = [
    `### many: getMany of ${sizes.map((s) => fmt(s)).join(', ')} keys at ${rates.map((r) => `${fmt(r * 100)} %`).join(', ')} misses, loader ${plan.many.dbDelayMs} ms`,
    `Every batch has new missing keys (the hits are the same warm keys); the batch loader answers after ${plan.many.dbDelayMs} ms for the whole batch (a \`WHERE id IN (...)\`), the loop's after ${plan.many.dbDelayMs} ms per call. Timed batches per point: as many as fit in ${fmt(plan.many.budgetMs)} ms, ${plan.many.minBatches} to ${plan.many.maxBatches}. Median ms per batch.`,
    lines.join('\n'),
    goalLine,
    `Growth:\n${growthList(growth)}`,
  ].join('\n\n');
  const dashes = new Map<ManyApproach, boolean>([
    ['getMany', false],
    ['loop', true],
  ]);
  const palette = ['#009E73', '#E69F00', '#D55E00'];
  const series: Series[] = [...dashes].flatMap(([approach, dashed]) =>
    rates.map((rate, i) => ({
      name: `${MANY_LABELS[approach]}, ${fmt(rate * 100)} % misses`,
      points: curveOf(approach, rate),
      dashed,
      color: palette[i % palette.length] ?? '#000',
    })),
  );
  const chart: Chart = {
    title: 'getMany vs a loop of gets: ms per batch',
    panels: [
      {
        title: `ms per batch (loader ${plan.many.dbDelayMs} ms)`,
        xLabel: 'keys per batch (log)',
        yLabel: 'ms per batch (log)',
        xLog: true,
        yLog: true,
        series,
      },
    ],
  };
  return { scenario: 'many', markdown, chart };
}

// ---------------------------------------------------------------------------------------------
// 5. concurrency

function concurrencyReport(runs: readonly GrowthRunRecord[], plan: GrowthPlan): ScenarioReport {
  const all = runs.flatMap((r) => r.concurrency);
  const lines = ['| in flight | ops/s | p50 ms | p99 ms | client CPU µs per hit | misses |', '|---:|---:|---:|---:|---:|---:|'];
  const levels = uniq(all.map((p) => p.inFlight)).sort((a, b) => a - b);
  for (const n of levels) {
    const match = (p: ConcurrencyPoint) => p.inFlight === n;
    const points = all.filter(match);
    const cell = (pick: (p: ConcurrencyPoint) => number) =>
      pair(
        medianOf(
          points.filter((p) => p.side === 'cachefront'),
          pick,
        ),
        medianOf(
          points.filter((p) => p.side === 'raw'),
          pick,
        ),
        ratioOverRuns(runs, (r) => r.concurrency, match, pick),
      );
    const missed = missCell(points);
    lines.push(
      `| ${n} | ${cell((p) => p.throughput.opsPerSec)} | ${cell((p) => p.throughput.p50Ms)} | ${cell((p) => p.throughput.p99Ms)} | ${cell((p) => p.throughput.cpuUsPerOp)} | ${missed} |`,
    );
  }
  const c = (side: SideName, pick: (p: ConcurrencyPoint) => number) => curve(all, side, (p) => p.inFlight, pick);
  const axis = { x: 'requests in flight', unit: 'ops/s' };
  const ratioCurve = (pick: (p: ConcurrencyPoint) => number) =>
    levels.map((n) => ({
      x: n,
      y: ratioOverRuns(
        runs,
        (r) => r.concurrency,
        (p) => p.inFlight === n,
        pick,
      ),
    }));
  const growth: [string, string][] = [
    [
      'cachefront ops/s',
      describeGrowth(
        c('cachefront', (p) => p.throughput.opsPerSec),
        axis,
      ),
    ],
    [
      'raw ops/s',
      describeGrowth(
        c('raw', (p) => p.throughput.opsPerSec),
        axis,
      ),
    ],
    [
      'cachefront ÷ raw ops/s',
      describeGrowth(
        ratioCurve((p) => p.throughput.opsPerSec),
        { ...axis, unit: '×' },
      ),
    ],
    [
      'cachefront p99',
      describeGrowth(
        c('cachefront', (p) => p.throughput.p99Ms),
        { ...axis, unit: 'ms' },
      ),
    ],
    [
      'cachefront client CPU per hit',
      describeGrowth(
        c('cachefront', (p) => p.throughput.cpuUsPerOp),
        { ...axis, unit: 'µs' },
      ),
    ],
  ];
  const markdown = [
    `### concurrency: requests in flight, ${levels.join(', ')}`,
    `${fmt(plan.concurrency.keys)} warm entries, reads uniformly at random (a shuffled order, so requests in flight are for different keys). Cells: cachefront / raw (cachefront ÷ raw: below 1 for ops/s means fewer, above 1 for ms and CPU means more).`,
    lines.join('\n'),
    ...(anyMisses(all) ? [MISS_NOTE] : []),
    `Growth:\n${growthList(growth)}`,
  ].join('\n\n');
  const chart: Chart = {
    title: 'cachefront throughput vs requests in flight',
    panels: [
      {
        title: 'Throughput',
        xLabel: 'requests in flight (log)',
        yLabel: 'ops/s',
        xLog: true,
        series: [
          { name: SIDE_LABELS.cachefront, points: c('cachefront', (p) => p.throughput.opsPerSec) },
          { name: SIDE_LABELS.raw, points: c('raw', (p) => p.throughput.opsPerSec) },
        ],
      },
      {
        title: 'p99 latency',
        xLabel: 'requests in flight (log)',
        yLabel: 'ms (log)',
        xLog: true,
        yLog: true,
        formatY: (v) => String(Number(v.toPrecision(3))),
        series: [
          { name: SIDE_LABELS.cachefront, points: c('cachefront', (p) => p.throughput.p99Ms) },
          { name: SIDE_LABELS.raw, points: c('raw', (p) => p.throughput.p99Ms) },
        ],
      },
    ],
  };
  return { scenario: 'concurrency', markdown, chart };
}

/** The reports of the scenarios that ran, in the order given. */
export function growthReports(
  runs: readonly GrowthRunRecord[],
  plan: GrowthPlan,
  scenarios: readonly GrowthScenario[],
  compressAboveBytes: number,
): ScenarioReport[] {
  const reporters: Record<GrowthScenario, () => ScenarioReport> = {
    keys: () => keysReport(runs, plan),
    tags: () => tagsReport(runs, plan),
    size: () => sizeReport(runs, plan, compressAboveBytes),
    many: () => manyReport(runs, plan),
    concurrency: () => concurrencyReport(runs, plan),
  };
  return scenarios.map((scenario) => reporters[scenario]());
}
