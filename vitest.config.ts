import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const source = (pkg: string, entry = 'index.ts') => fileURLToPath(new URL(`./packages/${pkg}/src/${entry}`, import.meta.url));

// Workspace packages resolve to their sources, so tests never run against a stale dist/. A subpath
// comes before its package: an alias also matches the paths below it, and the first match wins.
const alias = {
  '@cachefront/cache/testing': source('cache', 'testing/index.ts'),
  '@cachefront/mysql/testing': source('mysql', 'testing/index.ts'),
  '@cachefront/mysql': source('mysql'),
  '@cachefront/cache': source('cache'),
  '@cachefront/core': source('core'),
  '@cachefront/common': source('common'),
  '@cachefront/cli': source('cli'),
};

export default defineConfig({
  resolve: { alias },
  test: {
    projects: [
      {
        resolve: { alias },
        test: {
          name: 'unit',
          include: ['packages/*/src/**/*.test.ts'],
          exclude: ['**/node_modules/**', '**/dist/**'],
          environment: 'node',
        },
      },
      {
        resolve: { alias },
        test: {
          name: 'integration',
          include: ['test/**/*.test.ts'],
          exclude: ['**/node_modules/**', '**/dist/**'],
          environment: 'node',
          // The files share servers (and some change their global settings): one file at a time.
          fileParallelism: false,
          testTimeout: 60_000,
          hookTimeout: 60_000,
          globalSetup: ['test/global-setup.ts'],
        },
      },
    ],
  },
});
