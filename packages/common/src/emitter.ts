import diagnostics from 'node:diagnostics_channel';

/** A listener of one event: it gets the event's payload. */
export type Listener<P> = (payload: P) => void;

/**
 * A small typed event emitter: listeners through `on` / `off`, and one `node:diagnostics_channel`
 * per event (`<prefix><event>`), so tracing tools can subscribe without a reference to the emitter.
 * A listener that throws never breaks the code that emitted.
 */
export class Emitter<Events extends object> {
  readonly #listeners = new Map<keyof Events, Set<Listener<never>>>();
  readonly #channels = new Map<keyof Events, diagnostics.Channel>();
  readonly #prefix: string;

  /** @param prefix the diagnostics channel of event `e` is `${prefix}${e}` (`cachefront:mysql:`). */
  constructor(prefix: string) {
    this.#prefix = prefix;
  }

  /** Subscribes; returns the function that unsubscribes. */
  on<E extends keyof Events>(event: E, listener: Listener<Events[E]>): () => void {
    let set = this.#listeners.get(event);
    if (set === undefined) {
      set = new Set();
      this.#listeners.set(event, set);
    }
    set.add(listener as Listener<never>);
    return () => this.off(event, listener);
  }

  off<E extends keyof Events>(event: E, listener: Listener<Events[E]>): void {
    this.#listeners.get(event)?.delete(listener as Listener<never>);
  }

  /** Whether anyone listens, so a hot path can skip building a payload nobody reads. */
  wants(event: keyof Events): boolean {
    return (this.#listeners.get(event)?.size ?? 0) > 0 || this.#channel(event).hasSubscribers;
  }

  emit<E extends keyof Events>(event: E, payload: Events[E]): void {
    const set = this.#listeners.get(event);
    if (set) {
      for (const listener of set) {
        try {
          (listener as Listener<Events[E]>)(payload);
        } catch {
          // A listener's failure is the listener's problem, not the emitter's.
        }
      }
    }
    const channel = this.#channel(event);
    if (channel.hasSubscribers) channel.publish(payload);
  }

  #channel(event: keyof Events): diagnostics.Channel {
    let channel = this.#channels.get(event);
    if (channel === undefined) {
      channel = diagnostics.channel(this.#prefix + String(event));
      this.#channels.set(event, channel);
    }
    return channel;
  }
}
