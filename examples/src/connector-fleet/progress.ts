import type { BurstProgress } from './run-burst.js';

export interface ProgressPrinter {
  readonly update: (progress: BurstProgress) => void;
  /** Ends the progress line, keeping its last state on screen. */
  readonly finish: () => void;
}

/**
 * One progress line, rewritten in place on a terminal; when the output is a file or a pipe, a new
 * line at most every two seconds instead.
 */
export function progressPrinter(stream: NodeJS.WriteStream = process.stderr): ProgressPrinter {
  let last = '';
  let printed = true;
  let lastPrintedAt = 0;
  const render = (p: BurstProgress): string => {
    const stage = p.phase === 'gap' ? `frozen after wave ${p.wave}/${p.waves}` : `wave ${p.wave}/${p.waves}`;
    const percent = p.total > 0 ? Math.floor((100 * p.done) / p.total) : 0;
    return `  ${p.driver.padEnd(16)} ${stage.padEnd(22)} ${String(p.done).padStart(6)}/${p.total} invocations (${String(percent).padStart(3)}%)   failed ${String(p.failed).padStart(5)}   connections ${String(p.connections).padStart(3)} (peak ${p.peak})`;
  };
  return {
    update(progress) {
      last = render(progress);
      printed = false;
      if (stream.isTTY) {
        stream.write(`\r${last}\x1b[K`);
        printed = true;
      } else if (Date.now() - lastPrintedAt >= 2000) {
        lastPrintedAt = Date.now();
        stream.write(`${last}\n`);
        printed = true;
      }
    },
    finish() {
      if (stream.isTTY) stream.write('\n');
      else if (!printed) stream.write(`${last}\n`);
      last = '';
      printed = true;
      lastPrintedAt = 0;
    },
  };
}
