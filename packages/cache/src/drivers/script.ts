import { createHash } from 'node:crypto';

/** What running a script needs of a client (an ioredis `Redis` or `Cluster`). */
export interface ScriptClient {
  evalsha(sha: string, numKeys: number, ...args: Array<string | Buffer | number>): Promise<unknown>;
  eval(script: string, numKeys: number, ...args: Array<string | Buffer | number>): Promise<unknown>;
}

/** A Lua script, sent by its SHA and loaded with EVAL the first time a server does not know it. */
export class Script {
  readonly sha: string;
  constructor(readonly source: string) {
    this.sha = createHash('sha1').update(source).digest('hex');
  }

  async run(client: ScriptClient, keys: readonly string[], args: ReadonlyArray<string | Buffer | number>): Promise<unknown> {
    try {
      return await client.evalsha(this.sha, keys.length, ...keys, ...args);
    } catch (error) {
      if (!(error instanceof Error) || !error.message.startsWith('NOSCRIPT')) throw error;
      return client.eval(this.source, keys.length, ...keys, ...args);
    }
  }
}
