import type { CacheDriver, FillRequest, ReadResult } from './driver.js';

interface Slot {
  value: Buffer | string;
  expiresAt: number;
}

export interface MemoryDriverOptions {
  /** Clock, injectable for tests. @default Date.now */
  now?: () => number;
}

/** An in-process store with Redis' semantics, for unit tests. It passes the same contract suite as Redis. */
export class MemoryDriver implements CacheDriver {
  readonly sharedFate = true;
  readonly #store = new Map<string, Slot>();
  readonly #now: () => number;

  constructor(options: MemoryDriverOptions = {}) {
    this.#now = options.now ?? Date.now;
  }

  #get(key: string): Buffer | string | null {
    const slot = this.#store.get(key);
    if (!slot) return null;
    if (slot.expiresAt <= this.#now()) {
      this.#store.delete(key);
      return null;
    }
    return slot.value;
  }

  #set(key: string, value: Buffer | string, ttlMs: number): void {
    this.#store.set(key, { value, expiresAt: this.#now() + Math.max(1, Math.ceil(ttlMs)) });
  }

  async read(keys: readonly string[], tagKeys: readonly string[]): Promise<ReadResult> {
    return {
      values: keys.map((key) => {
        const value = this.#get(key);
        return value === null ? null : Buffer.from(value);
      }),
      tags: tagKeys.map((key) => {
        const value = this.#get(key);
        return value === null ? null : value.toString();
      }),
    };
  }

  async acquireLeases(leaseKeys: readonly string[], token: string, ttlMs: number): Promise<boolean[]> {
    return leaseKeys.map((key) => {
      if (this.#get(key) !== null) return false;
      this.#set(key, token, ttlMs);
      return true;
    });
  }

  async releaseLeases(leaseKeys: readonly string[], token: string): Promise<void> {
    for (const key of leaseKeys) if (this.#get(key) === token) this.#store.delete(key);
  }

  async fill(requests: readonly FillRequest[], token: string): Promise<boolean[]> {
    return requests.map((request) => {
      const holds = this.#get(request.leaseKey) === token;
      const current = request.expectTags.every(([tagKey, expected]) => {
        const value = this.#get(tagKey);
        return (value === null ? null : value.toString()) === expected;
      });
      if (holds) this.#store.delete(request.leaseKey);
      if (!holds || !current) return false;
      this.#set(request.key, Buffer.from(request.value), request.ttlMs);
      return true;
    });
  }

  /** The store's clock: the one it expires keys by. */
  async time(): Promise<number> {
    return this.#now();
  }

  async setTags(tagKeys: readonly string[], token: string, ttlMs: number): Promise<void> {
    for (const key of tagKeys) this.#set(key, token, ttlMs);
  }

  async initTags(tagKeys: readonly string[], token: string, ttlMs: number): Promise<string[]> {
    return tagKeys.map((key) => {
      const current = this.#get(key);
      if (current !== null) return current.toString();
      this.#set(key, token, ttlMs);
      return token;
    });
  }

  async delete(keys: readonly string[]): Promise<void> {
    for (const key of keys) this.#store.delete(key);
  }

  async ttl(key: string): Promise<number> {
    const slot = this.#store.get(key);
    if (!slot || slot.expiresAt <= this.#now()) return -2;
    return slot.expiresAt - this.#now();
  }

  async close(): Promise<void> {
    this.#store.clear();
  }
}
