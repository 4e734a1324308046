/**
 * The packages as a user gets them: packed as a release packs them (scripts/pack.mjs, pnpm pack),
 * installed with npm from the tarballs into a fresh folder with their peer dependencies, and every
 * TypeScript code block of the docs (the README, each package's README, docs/*.md) compiled there
 * with strict tsc (NodeNext) — then the blocks marked `<!-- run -->` run against the local MariaDB
 * and Redis. The docs' examples cannot rot: a block that stops compiling or running fails here.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { Connection } from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MYSQL, REDIS_URL } from '../support/env.js';
import { adminConnection, closeQuietly } from '../support/mysql.js';

const run = promisify(execFile);
const root = fileURLToPath(new URL('../../', import.meta.url));

/** The documents whose code blocks are checked. */
async function documents(): Promise<string[]> {
  const packages = await readdir(path.join(root, 'packages'));
  const docs = await readdir(path.join(root, 'docs'));
  return [
    'README.md',
    ...packages.map((name) => path.join('packages', name, 'README.md')),
    ...docs.filter((name) => name.endsWith('.md')).map((name) => path.join('docs', name)),
  ];
}

interface Block {
  readonly file: string;
  readonly source: string;
  readonly code: string;
  readonly runnable: boolean;
}

/** The ```ts blocks of a document; a block right after a `<!-- run -->` line is runnable. */
function codeBlocks(source: string, text: string): Omit<Block, 'file'>[] {
  const blocks: Omit<Block, 'file'>[] = [];
  const fence = /(<!-- run -->\s*\n)?```(?:ts|typescript)\n([\s\S]*?)```/g;
  for (let match = fence.exec(text); match; match = fence.exec(text)) {
    blocks.push({ source, code: match[2] ?? '', runnable: match[1] !== undefined });
  }
  return blocks;
}

/** The tables the docs' examples use, seeded. */
const SCHEMA = [
  'CREATE TABLE product (id INT PRIMARY KEY, name VARCHAR(64) NOT NULL, price DECIMAL(10,2) NOT NULL, category_id INT NOT NULL, stock INT NOT NULL DEFAULT 10)',
  'CREATE TABLE orders (id INT AUTO_INCREMENT PRIMARY KEY, customer_id INT NOT NULL)',
  'CREATE TABLE order_line (order_id INT NOT NULL, product_id INT NOT NULL)',
  "INSERT INTO product (id, name, price, category_id) VALUES (1, 'Hammer', 19.90, 1), (2, 'Saw', 24.50, 1), (3, 'Glue', 3.10, 2)",
];

let dir: string;
let admin: Connection;
const database = `cf_docs_${randomBytes(4).toString('hex')}`;
const blocks: Block[] = [];

beforeAll(async () => {
  // Packed from the current build (the test command builds the packages first).
  await run('node', [path.join(root, 'scripts/pack.mjs'), '--no-check'], { cwd: root });
  const packs = path.join(root, '.tmp', 'packs');
  const tarballs = (await readdir(packs)).filter((name) => name.endsWith('.tgz'));
  const testPackage = JSON.parse(await readFile(path.join(root, 'test', 'package.json'), 'utf8')) as { dependencies: Record<string, string> };
  const rootPackage = JSON.parse(await readFile(path.join(root, 'package.json'), 'utf8')) as { devDependencies: Record<string, string> };
  dir = await mkdtemp(path.join(tmpdir(), 'cf-packed-'));
  const dependencies: Record<string, string> = {
    // The peer dependencies, at the versions the project tests; a user brings their own.
    zod: testPackage.dependencies['zod'] as string,
    ioredis: testPackage.dependencies['ioredis'] as string,
    '@aws-sdk/rds-signer': testPackage.dependencies['@aws-sdk/rds-signer'] as string,
    typescript: rootPackage.devDependencies['typescript'] as string,
    '@types/node': rootPackage.devDependencies['@types/node'] as string,
  };
  for (const tarball of tarballs) {
    const name = /^cachefront-([a-z]+)-/.exec(tarball)?.[1];
    if (name) dependencies[`@cachefront/${name}`] = `file:${path.join(packs, tarball)}`;
  }
  await writeFile(path.join(dir, 'package.json'), JSON.stringify({ name: 'cf-packed', private: true, type: 'module', dependencies }, null, 2));
  await run('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', '--loglevel=error'], { cwd: dir, timeout: 240_000 });

  await mkdir(path.join(dir, 'blocks'));
  for (const file of await documents()) {
    let text: string;
    try {
      text = await readFile(path.join(root, file), 'utf8');
    } catch {
      continue; // a package without a README yet
    }
    const found = codeBlocks(file, text);
    found.forEach((block, i) => {
      blocks.push({ ...block, file: `${file.replaceAll(/[/.]/g, '-')}-${i + 1}.ts` });
    });
  }
  for (const block of blocks) await writeFile(path.join(dir, 'blocks', block.file), `// ${block.source}\n${block.code}\nexport {};\n`);
  await writeFile(
    path.join(dir, 'tsconfig.json'),
    JSON.stringify({
      compilerOptions: {
        target: 'ES2023',
        lib: ['ES2023'],
        module: 'NodeNext',
        moduleResolution: 'NodeNext',
        types: ['node'],
        strict: true,
        noUncheckedIndexedAccess: true,
        exactOptionalPropertyTypes: false,
        noImplicitOverride: true,
        verbatimModuleSyntax: true,
        skipLibCheck: false,
        rootDir: 'blocks',
        outDir: 'out',
      },
      include: ['blocks'],
    }),
  );

  admin = await adminConnection(MYSQL);
  await admin.query(`CREATE DATABASE \`${database}\``);
  await admin.query(`USE \`${database}\``);
  for (const statement of SCHEMA) await admin.query(statement);
}, 300_000);

afterAll(async () => {
  if (admin) {
    await admin.query(`DROP DATABASE IF EXISTS \`${database}\``);
    await closeQuietly(admin);
  }
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('the packages as a user installs them', () => {
  it('install from their tarballs, with only the declared dependencies', async () => {
    const installed = JSON.parse(await readFile(path.join(dir, 'node_modules', '@cachefront', 'core', 'package.json'), 'utf8')) as {
      peerDependencies?: Record<string, string>;
      exports: Record<string, unknown>;
    };
    expect(installed.peerDependencies).toHaveProperty('zod');
    expect(JSON.stringify(installed.exports)).not.toContain('@cachefront/source');
    expect(blocks.length).toBeGreaterThan(5);
  });

  it('compile every TypeScript block of the docs with strict tsc (NodeNext)', async () => {
    const result = await run(path.join(dir, 'node_modules', '.bin', 'tsc'), ['-p', 'tsconfig.json'], { cwd: dir }).catch((error: { stdout?: string }) => ({
      stdout: error.stdout ?? String(error),
    }));
    expect(result.stdout).toBe('');
  }, 120_000);

  it('run the blocks marked to run, against the local MariaDB and Redis', async () => {
    const runnable = blocks.filter((block) => block.runnable);
    expect(runnable.length).toBeGreaterThan(0);
    for (const block of runnable) {
      const script = path.join(dir, 'out', block.file.replace(/\.ts$/, '.js'));
      const env = {
        ...process.env,
        MYSQL_HOST: MYSQL.host,
        MYSQL_PORT: String(MYSQL.port),
        MYSQL_USER: MYSQL.user,
        MYSQL_PASSWORD: MYSQL.password,
        MYSQL_DATABASE: database,
        REDIS_URL,
        CACHE_NAMESPACE: `cfdocs${randomBytes(4).toString('hex')}`,
      };
      const outcome = await run(process.execPath, [script], { cwd: dir, env, timeout: 60_000 }).then(
        ({ stdout }) => (stdout.trim().length > 0 ? 'ok' : `${block.source}: printed nothing`),
        (error: { stderr?: string }) => `${block.source}: ${error.stderr ?? String(error)}`,
      );
      // Every runnable block prints what it got: it ran to its end.
      expect(outcome, block.source).toBe('ok');
    }
  }, 180_000);
});
