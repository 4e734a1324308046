/** Terminal output: colours only on a TTY and never with NO_COLOR; tables with aligned columns. */

export interface Style {
  readonly bold: (text: string) => string;
  readonly dim: (text: string) => string;
  readonly red: (text: string) => string;
  readonly yellow: (text: string) => string;
  readonly green: (text: string) => string;
}

const plain = (text: string) => text;
const sgr = (code: number) => (text: string) => `\u001b[${code}m${text}\u001b[0m`;

export function styleFor(stream: { readonly isTTY?: boolean }, env: NodeJS.ProcessEnv = process.env): Style {
  const colour = stream.isTTY === true && env['NO_COLOR'] === undefined;
  if (!colour) return { bold: plain, dim: plain, red: plain, yellow: plain, green: plain };
  return { bold: sgr(1), dim: sgr(2), red: sgr(31), yellow: sgr(33), green: sgr(32) };
}

/** A plain-text table: the first column left-aligned, numbers right-aligned. */
export function table(header: readonly string[], rows: ReadonlyArray<readonly string[]>): string {
  const all = [header, ...rows];
  const widths = header.map((_, i) => Math.max(...all.map((row) => (row[i] ?? '').length)));
  const line = (row: readonly string[]) =>
    row
      .map((cell, i) => (i === 0 || !/^[\d.,\s/%-]+$/.test(cell) ? cell.padEnd(widths[i] ?? 0) : cell.padStart(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  return [line(header), widths.map((w) => '─'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}
