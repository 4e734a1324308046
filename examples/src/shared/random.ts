import { type RandomSource, seededRandom } from '@cachefront/mysql';

/** A uniformly distributed number in [0, 1). */
export type Random = RandomSource;

/**
 * The deterministic random source (mulberry32) is the connector's own: every container draws from
 * its own stream, seeded by the run's seed and the container's number, so each driver gets exactly
 * the same traffic.
 */
export { seededRandom };

/** A whole number in [min, max]. */
export function randomInt(random: Random, min: number, max: number): number {
  return min + Math.floor(random() * (max - min + 1));
}
