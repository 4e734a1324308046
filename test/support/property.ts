/**
 * Shared conventions of the property tests (fast-check) under `test/security/`: how many cases a
 * family runs, and a record of how many it did run.
 *
 * CI runs every family at scale 1; `pnpm fuzz` sets `CACHEFRONT_FUZZ_SCALE` (20 by default) to run
 * more. Each family counts the cases its predicates actually ran, prints
 * `[property] <family>: N cases` after its file, and writes the count to `.tmp/property/`, where the
 * test command adds them up into one total line.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll } from 'vitest';

const scale = Number(process.env['CACHEFRONT_FUZZ_SCALE'] ?? 1);
if (!(scale > 0)) throw new Error(`CACHEFRONT_FUZZ_SCALE must be a number > 0; got ${String(process.env['CACHEFRONT_FUZZ_SCALE'])}`);

const outDir = fileURLToPath(new URL('../../.tmp/property/', import.meta.url));

export interface PropertyFamily {
  /** fast-check's `numRuns` for a property: `base` at scale 1, more under `pnpm fuzz`. */
  runs(base: number): number;
  /** Counts one case; call it once per predicate invocation. */
  tick(): void;
  /** Cases run so far. */
  readonly cases: number;
}

/** One family of property tests (one class of hostile input). Call once per test file, at module scope. */
export function propertyFamily(name: string): PropertyFamily {
  let cases = 0;
  afterAll(() => {
    console.log(`[property] ${name}: ${cases} cases`);
    mkdirSync(outDir, { recursive: true });
    writeFileSync(`${outDir}${name}.json`, JSON.stringify({ family: name, cases }));
  });
  return {
    runs: (base) => Math.max(1, Math.round(base * scale)),
    tick: () => {
      cases += 1;
    },
    get cases() {
      return cases;
    },
  };
}
