/** The two traffic shapes of the fleet benchmark, driven through a Fleet. */
import { abortableSleep, type Random } from '@cachefront/examples/connector-fleet';
import type { Fleet } from './platform.js';

export const SCENARIOS = ['waves', 'trickle'] as const;
export type Scenario = (typeof SCENARIOS)[number];

export interface WavesPlan {
  readonly waves: number;
  /** Events per wave; they arrive spread uniformly over `spreadMs`. */
  readonly events: number;
  readonly spreadMs: number;
  /** Quiet time after a wave (every container frozen). */
  readonly gapMs: number;
  /** Share of the idle containers that expire after each wave but the last. */
  readonly expire: number;
}

export interface TricklePlan {
  /** Events per second, evenly spaced. */
  readonly rate: number;
  readonly seconds: number;
  /** Probability that an idle container expires, drawn for each one every second. */
  readonly expirePerSecond: number;
}

export interface ScenarioPlans {
  readonly waves: WavesPlan;
  readonly trickle: TricklePlan;
}

export function plannedEvents(scenario: Scenario, plans: ScenarioPlans): number {
  return scenario === 'waves' ? plans.waves.waves * plans.waves.events : Math.round(plans.trickle.rate * plans.trickle.seconds);
}

/**
 * Processes to fork ahead for a scenario: every cold start the traffic should need, with a margin.
 * waves: the first wave's events, then the expired share of them for each later wave, plus 10%.
 * trickle: one second of events (the ramp, while the first cold starts init), then two per second
 * for the expiries (about 1.3/s were measured at 30 events/s).
 */
export function preforkEstimate(scenario: Scenario, plans: ScenarioPlans): number {
  if (scenario === 'waves') {
    const { waves, events, expire } = plans.waves;
    return events + Math.ceil(events * expire) * (waves - 1) + Math.ceil(events * 0.1);
  }
  return Math.min(plannedEvents(scenario, plans), Math.ceil(plans.trickle.rate) + Math.ceil(plans.trickle.seconds * 2));
}

/** Two random streams: arrivals (the same for every driver) and expiry draws (their count depends on how many containers are idle). */
export interface ScenarioRandom {
  readonly arrivals: Random;
  readonly expiry: Random;
}

/** Waits until `at` (performance.now()), then hands the event to the fleet. */
async function arriveAt(fleet: Fleet, at: number, signal: AbortSignal): Promise<void> {
  await abortableSleep(at - performance.now(), signal);
  if (!signal.aborted) await fleet.handle(at);
}

/** Bursts: every wave's events arrive within `spreadMs`; containers handle them one after another. */
export async function runWaves(fleet: Fleet, plan: WavesPlan, random: ScenarioRandom, signal: AbortSignal): Promise<void> {
  for (let wave = 0; wave < plan.waves && !signal.aborted; wave += 1) {
    const start = performance.now();
    const offsets = Array.from({ length: plan.events }, () => random.arrivals() * plan.spreadMs).sort((a, b) => a - b);
    await Promise.all(offsets.map((offset) => arriveAt(fleet, start + offset, signal)));
    if (wave === plan.waves - 1) break;
    fleet.expireIdle(plan.expire, random.expiry);
    await abortableSleep(plan.gapMs, signal);
  }
}

/** A steady rate; every second each idle container may expire. */
export async function runTrickle(fleet: Fleet, plan: TricklePlan, random: ScenarioRandom, signal: AbortSignal): Promise<void> {
  const total = Math.round(plan.rate * plan.seconds);
  const intervalMs = 1000 / plan.rate;
  const start = performance.now();
  const expiry = setInterval(() => fleet.expireIdle(plan.expirePerSecond, random.expiry), 1000);
  try {
    await Promise.all(Array.from({ length: total }, (_, index) => arriveAt(fleet, start + index * intervalMs, signal)));
  } finally {
    clearInterval(expiry);
  }
}
