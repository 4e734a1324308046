/** The flags every cache benchmark takes, checked the same way. */

/** `--runs`: a whole number from 1 to 50. */
export function runsFlag(value: string): number {
  const runs = Number(value);
  if (!Number.isInteger(runs) || runs < 1 || runs > 50) throw new RangeError('--runs must be a whole number from 1 to 50.');
  return runs;
}

/** `--wait-minutes`: how long to wait for other benchmarks to finish first, 0 to 180. */
export function waitMinutesFlag(value: string): number {
  const waitMinutes = Number(value);
  if (!Number.isFinite(waitMinutes) || waitMinutes < 0 || waitMinutes > 180) throw new RangeError('--wait-minutes must be from 0 to 180.');
  return waitMinutes;
}
