import { parseArgs } from 'node:util';
import { type BurstPlan, DEFAULT_PLAN } from './burst-plan.js';

/** A numeric command-line flag: its name, what it sets, and the range it accepts. */
export interface NumberFlag {
  readonly name: string;
  readonly description: string;
  readonly min: number;
  readonly max: number;
  readonly integer: boolean;
}

export interface ParsedFlags<N extends string, S extends string> {
  readonly help: boolean;
  readonly numbers: Partial<Record<N, number>>;
  readonly strings: Partial<Record<S, string>>;
}

/**
 * Parses `--name value` flags: numeric ones into numbers, the named string ones as they are, and
 * `--help`. Unknown flags, non-numbers and values out of range fail with a message naming the flag.
 */
export function parseFlags<const F extends readonly NumberFlag[], const S extends readonly string[] = []>(
  argv: readonly string[],
  numberFlags: F,
  stringFlags: S = [] as unknown as S,
): ParsedFlags<F[number]['name'], S[number]> {
  const options: Record<string, { type: 'string' } | { type: 'boolean'; short: string }> = { help: { type: 'boolean', short: 'h' } };
  for (const flag of numberFlags) options[flag.name] = { type: 'string' };
  for (const name of stringFlags) options[name] = { type: 'string' };
  // `pnpm demo -- --limit 10` passes the `--` through; it separates nothing here.
  const args = argv[0] === '--' ? argv.slice(1) : [...argv];
  const { values } = parseArgs({ args, options, strict: true, allowPositionals: false });
  const numbers: Partial<Record<string, number>> = {};
  for (const flag of numberFlags) {
    const raw = values[flag.name];
    if (typeof raw !== 'string') continue;
    const value = Number(raw);
    const ok = raw.trim() !== '' && Number.isFinite(value) && value >= flag.min && value <= flag.max && (!flag.integer || Number.isInteger(value));
    if (!ok) throw new RangeError(`--${flag.name} must be a ${flag.integer ? 'whole ' : ''}number from ${flag.min} to ${flag.max}; got "${raw}".`);
    numbers[flag.name] = value;
  }
  const strings: Partial<Record<string, string>> = {};
  for (const name of stringFlags) {
    const raw = values[name];
    if (typeof raw === 'string') strings[name] = raw;
  }
  const { help } = values;
  return { help: help === true, numbers, strings };
}

/** The `--help` lines for numeric flags. */
export function flagsHelp(flags: readonly NumberFlag[], defaults: Readonly<Record<string, number>>): string {
  const width = Math.max(...flags.map((flag) => flag.name.length)) + 4;
  return flags.map((flag) => `  --${flag.name.padEnd(width)}${flag.description} (default ${defaults[flag.name] ?? '–'})`).join('\n');
}

/** The flags that shape a burst, shared by the demo and the benchmark. */
export const PLAN_FLAGS = [
  { name: 'containers', description: 'containers alive in each wave', min: 1, max: 2000, integer: true },
  { name: 'waves', description: 'waves of traffic; some containers expire between waves', min: 1, max: 20, integer: true },
  { name: 'invocations', description: 'invocations per container per wave', min: 1, max: 1000, integer: true },
  { name: 'write-ratio', description: 'share of invocations that also write', min: 0, max: 1, integer: false },
] as const satisfies readonly NumberFlag[];

type PlanFlagName = (typeof PLAN_FLAGS)[number]['name'];

/** The plan the flags ask for, with the defaults for what they leave out. */
export function planFromFlags(numbers: Partial<Record<PlanFlagName, number>>): BurstPlan {
  return {
    ...DEFAULT_PLAN,
    containers: numbers.containers ?? DEFAULT_PLAN.containers,
    waves: numbers.waves ?? DEFAULT_PLAN.waves,
    invocationsPerWave: numbers.invocations ?? DEFAULT_PLAN.invocationsPerWave,
    writeRatio: numbers['write-ratio'] ?? DEFAULT_PLAN.writeRatio,
  };
}

/** A plan's values under its flags' names, for `--help`. */
export function planDefaults(plan: BurstPlan): Record<PlanFlagName, number> {
  return { containers: plan.containers, waves: plan.waves, invocations: plan.invocationsPerWave, 'write-ratio': plan.writeRatio };
}
