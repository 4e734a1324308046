import type { FleetProgress } from './fleet.js';

/** `[██████░░░░]`: a bar of `width` cells for a fraction from 0 to 1. */
export function progressBar(fraction: number, width = 24): string {
  const clamped = Math.min(1, Math.max(0, Number.isFinite(fraction) ? fraction : 0));
  const filled = Math.round(clamped * width);
  return `[${'█'.repeat(filled)}${'░'.repeat(width - filled)}]`;
}

export function progressLine(p: FleetProgress): string {
  const stage = p.phase === 'frozen' ? `frozen after wave ${p.wave}/${p.waves}` : `wave ${p.wave}/${p.waves}`;
  const count = p.total === undefined ? `${p.done} invocations` : `${p.done}/${p.total}`;
  return `  ${p.app.padEnd(12)} ${progressBar(p.fraction)} ${String(Math.floor(p.fraction * 100)).padStart(3)}%  ${stage.padEnd(21)} ${count.padEnd(11)} failed ${String(p.failed).padStart(5)}  connections ${String(p.connections).padStart(3)} (peak ${p.peak})`;
}

export interface ProgressPrinter {
  readonly update: (progress: FleetProgress) => void;
  readonly finish: () => void;
}

/**
 * On a terminal, one line rewritten in place; otherwise (a pipe, a file, CI) a plain line at most
 * every `intervalMs`, and the final state once.
 */
export function progressPrinter(stream: NodeJS.WriteStream = process.stdout, intervalMs = 3000): ProgressPrinter {
  const { CI } = process.env;
  const tty = stream.isTTY === true && !CI;
  let last = '';
  let printed = true;
  let printedAt = 0;
  return {
    update(progress) {
      last = progressLine(progress);
      printed = false;
      if (tty) {
        const columns = stream.columns ?? 160;
        stream.write(`\r${last.slice(0, columns - 1)}\x1b[K`);
        printed = true;
      } else if (Date.now() - printedAt >= intervalMs) {
        printedAt = Date.now();
        stream.write(`${last}\n`);
        printed = true;
      }
    },
    finish() {
      if (tty) stream.write('\n');
      else if (!printed && last !== '') stream.write(`${last}\n`);
      last = '';
      printed = true;
      printedAt = 0;
    },
  };
}
