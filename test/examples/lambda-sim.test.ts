import {
  cacheHitRatio,
  connectionsChartSvg,
  DEFAULT_MIX,
  DEFAULT_SHAPE,
  hotProductId,
  latencyPercentiles,
  loaderWaitShare,
  niceTicks,
  parseMix,
  percentile,
  progressBar,
  requestSequence,
  responseFailure,
} from '@cachefront/examples/lambda-sim';
import { describe, expect, it } from 'vitest';

// Pure parts of the Lambda simulator: no server is touched.

describe('percentiles', () => {
  it('uses the nearest rank on sorted values, 0 when empty', () => {
    const sorted = Array.from({ length: 100 }, (_, i) => i + 1);
    expect(percentile(sorted, 50)).toBe(50);
    expect(percentile(sorted, 99)).toBe(99);
    expect(percentile(sorted, 100)).toBe(100);
    expect(percentile([], 50)).toBe(0);
    expect(percentile([7], 99)).toBe(7);
  });

  it('sorts unsorted latencies first', () => {
    expect(latencyPercentiles([5, 1, 4, 2, 3])).toEqual({ p50: 3, p99: 5 });
    expect(latencyPercentiles([])).toEqual({ p50: 0, p99: 0 });
  });

  it('counts stale answers as served from the cache', () => {
    expect(cacheHitRatio({ hits: 6, stale: 2, misses: 2, loaderWaits: 3 })).toBeCloseTo(0.8);
    expect(cacheHitRatio({ hits: 0, stale: 0, misses: 0, loaderWaits: 0 })).toBeUndefined();
    expect(loaderWaitShare({ hits: 6, stale: 2, misses: 2, loaderWaits: 3 })).toBeCloseTo(0.3);
    expect(loaderWaitShare({ hits: 0, stale: 0, misses: 0, loaderWaits: 0 })).toBeUndefined();
    expect(loaderWaitShare(undefined)).toBeUndefined();
    expect(cacheHitRatio(undefined)).toBeUndefined();
  });
});

describe('connections chart', () => {
  const svg = connectionsChartSvg({
    title: 'a <title> & more',
    limit: 20,
    series: [
      { name: 'naive mysql2', color: '#e6842a', points: [0, 100, 200, 300].map((tMs, i) => ({ tMs, value: [5, 20, 20, 20][i] ?? 0 })) },
      { name: 'cachefront', color: '#1f77b4', points: [0, 100, 200, 300].map((tMs, i) => ({ tMs, value: [2, 9, 16, 4][i] ?? 0 })) },
    ],
    bands: [{ fromMs: 0, toMs: 150, label: 'wave 1' }],
  });

  it('is one well-formed, self-contained svg element', () => {
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
    expect(svg.trimEnd().endsWith('</svg>')).toBe(true);
    expect(svg.match(/<svg\b/g)).toHaveLength(1);
    expect(svg).not.toMatch(/<script|href=|url\(/);
    // Every tag that opens closes (or self-closes): a cheap well-formedness check.
    const stack: string[] = [];
    for (const [, slash, name, selfClose] of svg.matchAll(/<(\/?)([a-zA-Z]+)\b[^>]*?(\/?)>/g)) {
      if (selfClose) continue;
      if (slash) expect(stack.pop()).toBe(name);
      else stack.push(name ?? '');
    }
    expect(stack).toEqual([]);
    expect(svg).toContain('a &lt;title&gt; &amp; more');
  });

  it('draws the limit line and both series', () => {
    expect(svg).toMatch(/<line class="limit" data-limit="20"[^>]*stroke-dasharray/);
    expect(svg).toContain('limit 20');
    const series = [...svg.matchAll(/<path class="series" data-series="([^"]+)" d="([^"]+)"/g)];
    expect(series.map((m) => m[1])).toEqual(['naive mysql2', 'cachefront']);
    for (const match of series) expect(match[2]).toMatch(/^M[\d.]+ [\d.]+(H[\d.]+V[\d.]+){3}$/);
  });

  it('keeps the limit line inside the plot when every value is below it', () => {
    const quiet = connectionsChartSvg({ limit: 50, series: [{ name: 'a', color: '#000', points: [{ tMs: 0, value: 1 }] }] });
    const y = Number(/class="limit"[^>]* y1="([\d.]+)"/.exec(quiet)?.[1]);
    expect(y).toBeGreaterThan(0);
    expect(y).toBeLessThan(320);
  });

  it('picks round ticks', () => {
    expect(niceTicks(23)).toEqual([0, 5, 10, 15, 20, 25]);
    expect(niceTicks(0)).toEqual([0]);
  });
});

describe('traffic mix', () => {
  it('is the same for the same seed and container, different for another', () => {
    expect(requestSequence(42, 3, 200)).toEqual(requestSequence(42, 3, 200));
    expect(requestSequence(42, 3, 200)).not.toEqual(requestSequence(43, 3, 200));
    expect(requestSequence(42, 3, 200)).not.toEqual(requestSequence(42, 4, 200));
  });

  it('follows the mix: ~90% reads, ~8% price updates, ~2% orders by default', () => {
    const requests = Array.from({ length: 50 }, (_, c) => requestSequence(7, c, 200)).flat();
    const share = (route: string) => requests.filter((r) => r.route === route).length / requests.length;
    expect(share('getProduct') + share('listCategory')).toBeCloseTo(DEFAULT_MIX.reads, 1);
    expect(share('updatePrice')).toBeGreaterThan(0.06);
    expect(share('updatePrice')).toBeLessThan(0.1);
    expect(share('placeOrder')).toBeGreaterThan(0.01);
    expect(share('placeOrder')).toBeLessThan(0.03);
    for (const r of requests) {
      if (r.route === 'getProduct' || r.route === 'updatePrice') expect(r.productId).toBeGreaterThanOrEqual(1);
      if (r.route === 'getProduct' || r.route === 'updatePrice') expect(r.productId).toBeLessThanOrEqual(DEFAULT_SHAPE.products);
      if (r.route === 'updatePrice') expect(r.price).toMatch(/^\d{1,3}\.\d{2}$/);
      if (r.route === 'placeOrder') expect(r.lines.length).toBeGreaterThan(0);
    }
  });

  it('spreads the hot set over the catalog and sends it most product reads', () => {
    const hot = new Set(Array.from({ length: DEFAULT_SHAPE.hotProducts }, (_, k) => hotProductId(k + 1, DEFAULT_SHAPE)));
    expect(hot.size).toBe(DEFAULT_SHAPE.hotProducts);
    expect(Math.max(...hot)).toBeLessThanOrEqual(DEFAULT_SHAPE.products);
    const reads = Array.from({ length: 20 }, (_, c) => requestSequence(9, c, 200))
      .flat()
      .flatMap((r) => (r.route === 'getProduct' ? [r.productId] : []));
    const hotShare = reads.filter((id) => hot.has(id)).length / reads.length;
    expect(hotShare).toBeGreaterThan(0.75);
  });

  it('parses --mix', () => {
    expect(parseMix('90/8/2')).toEqual({ reads: 0.9, updates: 0.08, orders: 0.02 });
    expect(parseMix('1/0/0')).toEqual({ reads: 1, updates: 0, orders: 0 });
    expect(() => parseMix('90/10')).toThrow(RangeError);
    expect(() => parseMix('0/0/0')).toThrow(RangeError);
    expect(() => parseMix('a/b/c')).toThrow(RangeError);
  });
});

describe('report helpers', () => {
  it('labels failed answers by status and error code', () => {
    expect(responseFailure({ statusCode: 200, body: '{}' })).toBeUndefined();
    expect(responseFailure({ statusCode: 503, body: '{"error":"service_unavailable"}' })).toBe('HTTP 503 service_unavailable');
    expect(responseFailure({ statusCode: 502, body: 'oops' })).toBe('HTTP 502');
  });

  it('draws a progress bar', () => {
    expect(progressBar(0, 4)).toBe('[░░░░]');
    expect(progressBar(0.5, 4)).toBe('[██░░]');
    expect(progressBar(2, 4)).toBe('[████]');
  });
});
