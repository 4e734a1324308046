import { type CatalogApp, createCatalogApp } from '../catalog/app.js';
import type { AppFactory, AppInstance, CacheReads, DbTarget, HttpHandler } from './app.js';
import type { Route } from './traffic.js';

export interface CatalogFactoryOptions {
  /** Redis URL. */
  readonly redis: string;
  /** Prefix of every cache key of the run (deleted afterwards). */
  readonly namespace: string;
}

/**
 * cachefront's catalog app, as a function deploys it: one `createCatalogApp()` per container (its
 * own connector and Redis client), handlers wrapped in `withDataLayer` (deadline from the context,
 * `end()` after every invocation). Errors the handlers log are kept per request id, not printed.
 */
export function catalogAppFactory(options: CatalogFactoryOptions): AppFactory {
  return {
    name: 'cachefront',
    description: 'examples/src/catalog: @cachefront/core repositories over Redis, @cachefront/mysql connector with end() after each invocation, defaults',
    create: (target) => new CatalogInstance(target, options),
  };
}

class CatalogInstance implements AppInstance {
  readonly handlers: Readonly<Record<Route, HttpHandler>>;
  readonly #app: CatalogApp;
  readonly #codes = new Map<string, string>();
  #threadId: number | undefined;
  #queries = 0;

  constructor(target: DbTarget, options: CatalogFactoryOptions) {
    this.#app = createCatalogApp({
      connection: { host: target.host, port: target.port, user: target.user, password: target.password, database: target.database },
      redis: options.redis,
      namespace: options.namespace,
      logger: {
        error: (entry) => {
          const { requestId, code, errno, error } = entry as { requestId?: unknown; code?: unknown; errno?: unknown; error?: unknown };
          if (typeof requestId !== 'string') return;
          const label = typeof code === 'string' ? code : typeof errno === 'number' ? `errno ${errno}` : typeof error === 'string' ? error : undefined;
          if (label !== undefined) this.#codes.set(requestId, label);
        },
      },
    });
    const { connector } = this.#app;
    connector.on('connect', ({ threadId }) => {
      this.#threadId = threadId;
    });
    connector.on('close', ({ threadId }) => {
      if (threadId === this.#threadId) this.#threadId = undefined;
    });
    connector.on('query', () => {
      this.#queries += 1;
    });
    const { getProduct, listCategory, updatePrice, placeOrder } = this.#app.handlers;
    this.handlers = { getProduct, listCategory, updatePrice, placeOrder } as Record<Route, HttpHandler>;
  }

  threadId(): number | undefined {
    return this.#threadId;
  }

  queries(): number {
    return this.#queries;
  }

  cacheReads(): CacheReads {
    const { hits, stale, misses, loaderWaits } = this.#app.cache.stats();
    return { hits, stale, misses, loaderWaits };
  }

  failureCode(requestId: string): string | undefined {
    const code = this.#codes.get(requestId);
    this.#codes.delete(requestId);
    return code;
  }

  dispose(): Promise<void> {
    return this.#app.close();
  }
}
