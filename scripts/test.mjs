// The whole test suite, as the README's second command and CI run it: build, typecheck, lint,
// then every vitest project (unit, integration). Ends with one "N passed, N failed" line.
import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';

// A build starts from an empty dist/, so nothing stale (a file since renamed) is packed or imported.
for (const name of ['common', 'mysql', 'cache', 'core', 'cli']) rmSync(`packages/${name}/dist`, { recursive: true, force: true });

const run = (command, args) => {
  console.log(`\n$ ${command} ${args.join(' ')}`);
  return spawnSync(command, args, { stdio: 'inherit' }).status ?? 1;
};

for (const [command, args] of [
  ...['common', 'mysql', 'cache', 'core', 'cli'].map((name) => ['tsc', ['-p', `packages/${name}/tsconfig.json`]]),
  ['tsc', ['-p', 'tsconfig.json']],
  ['biome', ['check', '.']],
  // The packages as a release packs them, checked by publint and arethetypeswrong (the packed-install test installs them).
  ['node', ['scripts/pack.mjs']],
]) {
  const status = run(command, args);
  if (status !== 0) process.exit(status);
}

mkdirSync('.tmp', { recursive: true });
rmSync('.tmp/vitest.json', { force: true });
rmSync('.tmp/property', { recursive: true, force: true });
const status = run('vitest', ['run', '--reporter=default', '--reporter=json', '--outputFile.json=.tmp/vitest.json', ...process.argv.slice(2)]);
try {
  const report = JSON.parse(readFileSync('.tmp/vitest.json', 'utf8'));
  const skipped = report.numPendingTests + report.numTodoTests;
  console.log(`\ntests: ${report.numPassedTests} passed, ${report.numFailedTests} failed${skipped ? `, ${skipped} skipped` : ''}`);
} catch {
  console.log('\ntests: no report was written');
}
// The property tests (test/security) record how many cases each family ran.
try {
  const families = readdirSync('.tmp/property').map((file) => JSON.parse(readFileSync(`.tmp/property/${file}`, 'utf8')));
  const total = families.reduce((sum, family) => sum + family.cases, 0);
  console.log(`property cases: ${total} in ${families.length} families (${families.map((f) => `${f.family} ${f.cases}`).join(', ')})`);
} catch {
  // No property family ran (a filtered run).
}
process.exit(status);
