import net from 'node:net';

/** Where the proxy forwards to. */
export interface ProxyTarget {
  readonly host: string;
  readonly port: number;
}

export interface CutOptions {
  /**
   * Wait for the server's first reply to the forwarded packet, drop it (the client never sees it),
   * then cut. The server has then certainly executed the statement: the "applied, but the answer
   * was lost" case. Without it the cut comes as soon as the packet was written to the server.
   * @default false
   */
  dropReply?: boolean;
}

interface Pair {
  readonly client: net.Socket;
  readonly server: net.Socket;
}

interface Armed {
  readonly dropReply: boolean;
  readonly done: () => void;
  /** Only a client packet this matches arms the cut; then only its connection is cut. Without it: any packet, every connection. */
  readonly match?: (chunk: Buffer) => boolean;
  /** The pair whose client packet was forwarded, waiting for the server's reply. */
  pair?: Pair;
}

/**
 * A real TCP proxy on 127.0.0.1 for fault injection: the code under test connects to `port`, the
 * proxy forwards to the target. It can cut every connection (both sides destroyed), cut right after
 * the client's next packet was forwarded, stop forwarding (pause), and counts what went through.
 */
export class TcpProxy {
  readonly #target: ProxyTarget;
  readonly #server: net.Server;
  readonly #pairs = new Set<Pair>();
  #paused = false;
  #armed: Armed | undefined;
  #hold: { readonly match: (chunk: Buffer) => boolean; readonly done: () => void } | undefined;
  readonly #held: Array<{ readonly server: net.Socket; readonly chunk: Buffer }> = [];
  /** Ends and closes that happened while paused: passed on only at `resume()`. */
  readonly #deferred: Array<() => void> = [];
  /** Client connections accepted since start. */
  connections = 0;
  /**
   * How long a new client connection waits before the proxy connects it to the server. The server
   * speaks first in MySQL's protocol, so the client waits that long for the handshake, as a client
   * of a paused Aurora Serverless v2 cluster waits for it to resume.
   */
  acceptDelayMs = 0;
  /** Bytes forwarded from clients to the server since start. */
  bytesFromClient = 0;

  private constructor(target: ProxyTarget) {
    this.#target = target;
    this.#server = net.createServer((client) => this.#accept(client));
  }

  static async start(target: ProxyTarget): Promise<TcpProxy> {
    const proxy = new TcpProxy(target);
    await new Promise<void>((resolve, reject) => {
      proxy.#server.once('error', reject);
      proxy.#server.listen(0, '127.0.0.1', () => {
        proxy.#server.off('error', reject);
        resolve();
      });
    });
    return proxy;
  }

  get port(): number {
    const address = this.#server.address();
    if (address === null || typeof address === 'string') throw new Error('proxy is not listening');
    return address.port;
  }

  /** Connections currently open through the proxy. */
  get open(): number {
    return this.#pairs.size;
  }

  /** Destroys both sides of every open connection at once. */
  cut(): void {
    for (const pair of this.#pairs) this.#destroy(pair);
  }

  /**
   * Arms a cut: the next data a client sends is forwarded to the server, then (after the server's
   * reply, which is dropped, when `dropReply`) every connection is cut. Resolves when the cut happened.
   */
  cutAfterNextClientPacket(options: CutOptions = {}): Promise<void> {
    return new Promise((resolve) => {
      this.#armed = { dropReply: options.dropReply ?? false, done: resolve };
    });
  }

  /**
   * Arms a cut of one connection: the next client packet for which `match` is true (a COMMIT, say)
   * is forwarded to the server, then (after the server's reply, which is dropped, when `dropReply`)
   * that connection alone is cut. Resolves when the cut happened; a later arming replaces this one.
   */
  cutAfterClientPacket(match: (chunk: Buffer) => boolean, options: CutOptions = {}): Promise<void> {
    return new Promise((resolve) => {
      this.#armed = { dropReply: options.dropReply ?? false, done: resolve, match };
    });
  }

  /**
   * Stops forwarding in both directions, as a frozen network would: data waits in the sockets, and
   * an end or a close on one side is not passed to the other, until `resume()`. New connections wait too.
   */
  pause(): void {
    this.#paused = true;
    for (const { client, server } of this.#pairs) {
      client.pause();
      server.pause();
    }
  }

  /**
   * Arms a pause: the next client packet for which `match` is true is held back (not forwarded) and
   * everything pauses, as with `pause()`. Resolves once it is held; `resume()` forwards it.
   */
  pauseBeforeClientPacket(match: (chunk: Buffer) => boolean): Promise<void> {
    return new Promise((resolve) => {
      this.#hold = { match, done: resolve };
    });
  }

  resume(): void {
    this.#paused = false;
    for (const { server, chunk } of this.#held.splice(0)) server.write(chunk);
    for (const { client, server } of this.#pairs) {
      client.resume();
      server.resume();
    }
    // After the data held in the sockets has been forwarded (resumed streams flow on the next tick).
    setImmediate(() => {
      if (!this.#paused) for (const action of this.#deferred.splice(0)) action();
    });
  }

  /** Cuts every connection and stops listening. */
  async close(): Promise<void> {
    this.cut();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  #accept(client: net.Socket): void {
    this.connections += 1;
    if (this.acceptDelayMs <= 0) {
      this.#forward(client);
      return;
    }
    client.pause();
    client.on('error', () => client.destroy());
    const timer = setTimeout(() => {
      if (client.destroyed) return;
      client.resume();
      this.#forward(client);
    }, this.acceptDelayMs);
    client.once('close', () => clearTimeout(timer));
  }

  #forward(client: net.Socket): void {
    const server = net.connect(this.#target.port, this.#target.host);
    const pair: Pair = { client, server };
    this.#pairs.add(pair);
    client.setNoDelay(true);
    server.setNoDelay(true);
    if (this.#paused) {
      client.pause();
      server.pause();
    }
    client.on('data', (chunk: Buffer) => {
      this.bytesFromClient += chunk.length;
      const hold = this.#hold;
      if (hold?.match(chunk)) {
        this.#hold = undefined;
        this.#held.push({ server, chunk });
        this.pause();
        hold.done();
        return;
      }
      const armed = this.#armed;
      if (armed && armed.pair === undefined && (armed.match === undefined || armed.match(chunk))) {
        if (armed.dropReply) {
          armed.pair = pair;
          server.write(chunk);
        } else {
          this.#armed = undefined;
          server.write(chunk, () => {
            if (armed.match) this.#destroy(pair);
            else this.cut();
            armed.done();
          });
        }
        return;
      }
      server.write(chunk);
    });
    server.on('data', (chunk: Buffer) => {
      const armed = this.#armed;
      if (armed?.pair === pair) {
        // The server answered the forwarded packet: it ran it. The client never learns the outcome.
        this.#armed = undefined;
        if (armed.match) this.#destroy(pair);
        else this.cut();
        armed.done();
        return;
      }
      client.write(chunk);
    });
    client.on('end', () => this.#whenFlowing(() => server.end()));
    server.on('end', () => this.#whenFlowing(() => client.end()));
    // A paused socket still reports its peer's end and close: hold them back like the data.
    const drop = () => this.#whenFlowing(() => this.#destroy(pair));
    client.on('error', drop);
    server.on('error', drop);
    client.on('close', drop);
    server.on('close', drop);
  }

  #whenFlowing(action: () => void): void {
    if (this.#paused) this.#deferred.push(action);
    else action();
  }

  #destroy(pair: Pair): void {
    this.#pairs.delete(pair);
    pair.client.destroy();
    pair.server.destroy();
  }
}
