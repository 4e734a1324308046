/**
 * A circuit breaker over Redis: after `threshold` consecutive failures it opens, and for `openMs`
 * every call skips Redis at once instead of waiting for a timeout; then one trial call is let
 * through (half-open), and its success closes the breaker again.
 */
export class CircuitBreaker {
  #failures = 0;
  #openUntil = 0;
  #trialInFlight = false;

  constructor(
    private readonly threshold: number,
    private readonly openMs: number,
    private readonly now: () => number,
    private readonly onOpen: (failures: number) => void,
    private readonly onClose: () => void,
  ) {}

  /** Whether a call may go to Redis now. */
  allow(): boolean {
    if (this.#failures < this.threshold) return true;
    if (this.now() < this.#openUntil || this.#trialInFlight) return false;
    this.#trialInFlight = true; // half-open: one trial
    return true;
  }

  success(): void {
    const wasOpen = this.#failures >= this.threshold;
    this.#failures = 0;
    this.#trialInFlight = false;
    if (wasOpen) this.onClose();
  }

  /**
   * A call that ended for a reason other than Redis (a key or codec error): no verdict either way.
   * A half-open trial is given back, so the next call may try again.
   */
  abstain(): void {
    this.#trialInFlight = false;
  }

  failure(): void {
    this.#failures += 1;
    this.#trialInFlight = false;
    if (this.#failures >= this.threshold) {
      this.#openUntil = this.now() + this.openMs;
      this.onOpen(this.#failures);
    }
  }
}
