import { parseArgs } from 'node:util';

/** A numeric command-line flag: its name, what it sets, and the range it accepts. */
export interface NumberFlag {
  readonly name: string;
  readonly description: string;
  readonly min: number;
  readonly max: number;
  readonly integer: boolean;
}

/**
 * Parses `--name value` flags into numbers (and `--help`), rejecting unknown flags, non-numbers
 * and values out of range with a message that names the flag.
 */
export function parseNumberFlags<const F extends readonly NumberFlag[]>(
  argv: readonly string[],
  flags: F,
): { help: boolean; values: Partial<Record<F[number]['name'], number>> } {
  const options: Record<string, { type: 'string' } | { type: 'boolean'; short: string }> = { help: { type: 'boolean', short: 'h' } };
  for (const flag of flags) options[flag.name] = { type: 'string' };
  // `pnpm demo -- --limit 10` passes the `--` through; it separates nothing here.
  const args = argv[0] === '--' ? argv.slice(1) : [...argv];
  const { values } = parseArgs({ args, options, strict: true, allowPositionals: false });
  const parsed: Partial<Record<string, number>> = {};
  for (const flag of flags) {
    const raw = values[flag.name];
    if (typeof raw !== 'string') continue;
    const value = Number(raw);
    const ok = raw.trim() !== '' && Number.isFinite(value) && value >= flag.min && value <= flag.max && (!flag.integer || Number.isInteger(value));
    if (!ok) throw new RangeError(`--${flag.name} must be a ${flag.integer ? 'whole ' : ''}number from ${flag.min} to ${flag.max}; got "${raw}".`);
    parsed[flag.name] = value;
  }
  const { help } = values;
  return { help: help === true, values: parsed as Partial<Record<F[number]['name'], number>> };
}

/** The `--help` text for a list of flags. */
export function flagsHelp(flags: readonly NumberFlag[], defaults: Readonly<Record<string, number>>): string {
  const width = Math.max(...flags.map((flag) => flag.name.length)) + 4;
  return flags.map((flag) => `  --${flag.name.padEnd(width)}${flag.description} (default ${defaults[flag.name] ?? '–'})`).join('\n');
}
