import { expect } from 'vitest';

/** |a − b| ≤ atol + rtol·|b| (numpy.isclose semantics, b the reference). */
export function expectClose(actual: number, expected: number, rtol = 1e-6, atol = 1e-9, label = ''): void {
  const tol = atol + rtol * Math.abs(expected);
  const diff = Math.abs(actual - expected);
  if (!(diff <= tol)) {
    expect.fail(`${label ? label + ': ' : ''}expected ${actual} to be within ${tol.toExponential(2)} of ${expected} (diff ${diff.toExponential(3)})`);
  }
}
