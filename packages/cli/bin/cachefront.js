#!/usr/bin/env node
// The `cachefront` command. The built CLI when there is one (a release, or after the build); in a
// checkout that was only installed, its sources through tsx, so `pnpm exec cachefront` works at once.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const built = new URL('../dist/main.js', import.meta.url);
if (existsSync(built)) {
  await import(built.href);
} else {
  const tsx = createRequire(import.meta.url).resolve('tsx/cli');
  const main = fileURLToPath(new URL('../src/main.ts', import.meta.url));
  const { status } = spawnSync(process.execPath, [tsx, '--conditions=@cachefront/source', main, ...process.argv.slice(2)], { stdio: 'inherit' });
  process.exitCode = status ?? 2;
}
