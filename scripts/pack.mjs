// Packs the published packages as a release would (pnpm pack: `workspace:*` becomes the real
// version), into .tmp/packs, and checks each tarball with publint and arethetypeswrong. Prints one
// line per package; exits non-zero on the first problem. The packed-install test installs these
// tarballs. Run after the packages are built (the test command builds them first).
//
//   node scripts/pack.mjs            # pack and check
//   node scripts/pack.mjs --no-check # pack only
import { execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const PACKAGES = ['common', 'mysql', 'cache', 'core'];

const root = fileURLToPath(new URL('..', import.meta.url));
const out = path.join(root, '.tmp', 'packs');
const bin = (name) => path.join(root, 'node_modules', '.bin', name);

export function pack() {
  rmSync(out, { recursive: true, force: true });
  mkdirSync(out, { recursive: true });
  const tarballs = {};
  for (const name of PACKAGES) {
    const dir = path.join(root, 'packages', name);
    execFileSync('npx', ['-y', 'pnpm@12.4.2', 'pack', '--pack-destination', out], { cwd: dir, stdio: ['ignore', 'ignore', 'inherit'] });
    const file = readdirSync(out).find((entry) => entry.startsWith(`cachefront-${name}-`) && entry.endsWith('.tgz'));
    if (!file) throw new Error(`pnpm pack wrote no tarball for @cachefront/${name}`);
    tarballs[name] = path.join(out, file);
  }
  return tarballs;
}

function check(tarballs) {
  for (const [name, tarball] of Object.entries(tarballs)) {
    const unpacked = path.join(out, name);
    mkdirSync(unpacked, { recursive: true });
    execFileSync('tar', ['-xzf', tarball, '-C', unpacked]);
    execFileSync(bin('publint'), [path.join(unpacked, 'package'), '--pack', 'false', '--strict'], { stdio: 'inherit' });
    // ESM only, on purpose: node16 from ESM and bundlers must resolve; CommonJS and node10 are not supported.
    execFileSync(bin('attw'), [tarball, '--profile', 'esm-only', '--format', 'table-flipped'], { stdio: 'inherit' });
    console.log(`@cachefront/${name}: packed, publint and attw clean`);
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  const tarballs = pack();
  if (!process.argv.includes('--no-check')) check(tarballs);
}
