/** The shape of the traffic: how many containers, how many waves, what each invocation does. */
export interface BurstPlan {
  /** Containers alive in every wave (expired ones are replaced by cold ones). */
  readonly containers: number;
  readonly waves: number;
  /** Invocations each live container handles per wave, one after another. */
  readonly invocationsPerWave: number;
  /** Probability that an invocation also writes (every invocation reads). */
  readonly writeRatio: number;
  /** Share of the containers that the platform drops between two waves, without closing anything. */
  readonly expireRatio: number;
  /** Quiet time between waves: containers are frozen, abandoned connections age. */
  readonly waveGapMs: number;
  /** Containers of a wave receive their first request spread over this window. */
  readonly rampMs: number;
  /** Largest pause between two invocations of one container (drawn uniformly from 0). */
  readonly thinkMs: number;
  /** The platform's timeout of one invocation. */
  readonly invocationTimeoutMs: number;
  /** Seed of every random choice, so each driver faces the same traffic. */
  readonly seed: number;
}

export const DEFAULT_PLAN: BurstPlan = Object.freeze({
  containers: 150,
  waves: 3,
  invocationsPerWave: 4,
  writeRatio: 0.2,
  expireRatio: 0.3,
  waveGapMs: 2000,
  rampMs: 100,
  thinkMs: 20,
  invocationTimeoutMs: 6000,
  seed: 20_240_601,
});

/** Checks a plan; a bad flag fails here, before any connection is opened. */
export function validatePlan(plan: BurstPlan): BurstPlan {
  const wholeAtLeast = (name: keyof BurstPlan, min: number): void => {
    const value = plan[name];
    if (!Number.isInteger(value) || value < min) throw new RangeError(`${name} must be a whole number ≥ ${min}; got ${value}.`);
  };
  wholeAtLeast('containers', 1);
  wholeAtLeast('waves', 1);
  wholeAtLeast('invocationsPerWave', 1);
  wholeAtLeast('waveGapMs', 0);
  wholeAtLeast('rampMs', 0);
  wholeAtLeast('thinkMs', 0);
  wholeAtLeast('invocationTimeoutMs', 1);
  for (const name of ['writeRatio', 'expireRatio'] as const) {
    const value = plan[name];
    if (!(value >= 0 && value <= 1)) throw new RangeError(`${name} must be between 0 and 1; got ${value}.`);
  }
  return plan;
}

/** Invocations a plan runs in total. */
export function totalInvocations(plan: BurstPlan): number {
  return plan.containers * plan.waves * plan.invocationsPerWave;
}
