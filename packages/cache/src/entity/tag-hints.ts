const MAX_TAG_HINTS = 10_000;

/**
 * Tags learnt from earlier values of a key that its parameters do not give (value tags), so the
 * next read fetches their tokens in its first round trip. Only those are kept: a key whose entry
 * carries no tag beyond its parameter tags — every key of an entity without `valueTags` — costs
 * nothing here, however many keys there are. Bounded (oldest out first). Only tags that follow the
 * tag rules are ever given to it: a tag from a header is checked when the header is decoded, a
 * value tag before the fill.
 */
export class TagHints {
  readonly #hints = new Map<string, readonly string[]>();

  get(key: string): readonly string[] {
    return this.#hints.get(key) ?? [];
  }

  /** Remembers the tags of `carried` that are not in `known` (the parameter tags), or forgets the key when there are none. */
  remember(key: string, carried: readonly string[], known: readonly string[]): void {
    const extra = carried.filter((tag) => !known.includes(tag));
    if (extra.length === 0) {
      if (this.#hints.size > 0) this.#hints.delete(key);
      return;
    }
    if (this.#hints.size >= MAX_TAG_HINTS && !this.#hints.has(key)) {
      const oldest = this.#hints.keys().next().value;
      if (oldest !== undefined) this.#hints.delete(oldest);
    }
    this.#hints.set(key, extra);
  }
}
