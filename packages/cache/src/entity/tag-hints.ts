const MAX_TAG_HINTS = 10_000;

/**
 * Tags learnt from earlier values of a key, so the next read fetches their tokens in its first
 * round trip. Bounded (oldest out first). Only tags that follow the tag rules are ever given to it:
 * a tag from a header is checked when the header is decoded, a value tag before the fill.
 */
export class TagHints {
  readonly #hints = new Map<string, readonly string[]>();

  get(key: string): readonly string[] {
    return this.#hints.get(key) ?? [];
  }

  remember(key: string, tags: readonly string[]): void {
    if (tags.length === 0) return;
    if (this.#hints.size >= MAX_TAG_HINTS && !this.#hints.has(key)) {
      const oldest = this.#hints.keys().next().value;
      if (oldest !== undefined) this.#hints.delete(oldest);
    }
    this.#hints.set(key, tags);
  }
}
