import { type ConnectionSource, type ConnectorOptions, type ResolvedOptions, resolveOptions } from './options.js';

/** The connector's options as given: an object, or a function resolved on first use. */
type OptionsInput = ConnectorOptions | (() => ConnectorOptions | Promise<ConnectorOptions>);

/**
 * Where the connector's options come from. Plain options are checked at once, so a typo fails at
 * module load, not in the first request; an options function is resolved on first use (one call
 * for concurrent users, called again after a failure) and again, for its `connection` only, before
 * physical connects.
 */
export class OptionsSource {
  /** The options function (plain options: one returning them, never called, since they are resolved at once). */
  readonly #load: () => ConnectorOptions | Promise<ConnectorOptions>;
  readonly #isFunction: boolean;
  #current: ResolvedOptions | undefined;
  #pending: Promise<ResolvedOptions> | undefined;
  /** The options function has just been called: the next connect may use its `connection` as is. */
  #fresh = false;

  constructor(input: OptionsInput) {
    this.#isFunction = typeof input === 'function';
    if (typeof input === 'function') this.#load = input;
    else {
      this.#load = () => input;
      this.#current = resolveOptions(input);
    }
  }

  /** The options, once resolved. */
  get current(): ResolvedOptions | undefined {
    return this.#current;
  }

  resolve(): Promise<ResolvedOptions> {
    if (this.#current) return Promise.resolve(this.#current);
    if (!this.#pending) {
      this.#pending = Promise.resolve()
        .then(this.#load)
        .then((options) => {
          this.#current = resolveOptions(options);
          this.#fresh = true;
          return this.#current;
        })
        .catch((error: unknown) => {
          this.#pending = undefined; // resolve again on the next call
          throw error;
        });
    }
    return this.#pending;
  }

  /**
   * What the next physical connect uses. When an options function returned a plain `connection`,
   * the function is called again before every connect but the one right after it was resolved, so
   * rotated secrets and expiring IAM tokens are picked up; only its `connection` is taken, the other
   * options stay as first resolved. A `connection` function is itself called on every connect.
   */
  async connection(opts: ResolvedOptions): Promise<ConnectionSource> {
    if (!this.#isFunction || typeof opts.connection === 'function' || this.#fresh) {
      this.#fresh = false;
      return opts.connection;
    }
    return (await this.#load()).connection;
  }
}
