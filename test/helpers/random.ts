/**
 * Seeded random numbers for tests: the same seed gives the same numbers on
 * every machine and every run, so a failing case can be replayed.
 *
 * mulberry32 (a 32-bit state generator, good enough for test data) feeds a
 * Box–Muller transform for standard normal deviates.
 */
import type { Matrix } from '../../src/core/types.js';

/** A uniform generator on [0, 1) with 32-bit state. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A standard normal generator (Box–Muller, both deviates of each pair used). */
export function gaussian(seed: number): () => number {
  const u = mulberry32(seed);
  let spare = 0;
  let hasSpare = false;
  return () => {
    if (hasSpare) {
      hasSpare = false;
      return spare;
    }
    let u1 = u();
    while (u1 === 0) u1 = u(); // ln(0) would be −∞
    const u2 = u();
    const r = Math.sqrt(-2 * Math.log(u1));
    spare = r * Math.sin(2 * Math.PI * u2);
    hasSpare = true;
    return r * Math.cos(2 * Math.PI * u2);
  };
}

/** n independent standard normal values. */
export function randn(n: number, seed: number): Float64Array {
  const g = gaussian(seed);
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) out[i] = g();
  return out;
}

/** n independent uniform values on [0, 1). */
export function randu(n: number, seed: number): Float64Array {
  const u = mulberry32(seed);
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) out[i] = u();
  return out;
}

/** A rows × cols row-major float64 matrix of standard normal values. */
export function randMatrix(rows: number, cols: number, seed: number): Matrix & { data: Float64Array } {
  return { data: randn(rows * cols, seed), rows, cols };
}
