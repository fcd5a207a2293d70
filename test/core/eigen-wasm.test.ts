/**
 * The eigensolver's WebAssembly path (blocked tridiagonalisation, reflectors
 * applied to B in blocks, queued SIMD rotations) against the TypeScript
 * path: the same tridiagonal matrix, eigenvalues and projections to
 * rounding, for odd sizes, several panel widths, and both backends.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { eigenTestHooks } from '../../src/core/linalg/eigen.js';
import { getLinalgBackend, setLinalgBackend, symEig, symEigProject } from '../../src/core/linalg/index.js';
import { randn } from '../helpers/random.js';

const TOL = 1e-12;

function randomSymmetric(n: number, seed: number): Float64Array {
  const g = randn(n * n, seed);
  const a = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) a[i * n + j] = (g[i * n + j] + g[j * n + i]) / 2;
  return a;
}

function maxAbs(a: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]));
  return m;
}

function frob(a: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * a[i];
  return Math.sqrt(s);
}

/** max |x − y| over entries. */
function maxDiff(x: ArrayLike<number>, y: ArrayLike<number>): number {
  expect(x.length).toBe(y.length);
  let m = 0;
  for (let i = 0; i < x.length; i++) m = Math.max(m, Math.abs(x[i] - y[i]));
  return m;
}

/** Rows of P and Q (n × k) agree up to one sign per row. */
function expectRowsClose(p: Float64Array, q: Float64Array, n: number, k: number, tol: number): void {
  for (let j = 0; j < n; j++) {
    let dot = 0;
    for (let c = 0; c < k; c++) dot += p[j * k + c] * q[j * k + c];
    const s = dot < 0 ? -1 : 1;
    let m = 0;
    for (let c = 0; c < k; c++) m = Math.max(m, Math.abs(p[j * k + c] - s * q[j * k + c]));
    expect(m).toBeLessThanOrEqual(tol);
  }
}

const wasm = getLinalgBackend() === 'wasm';

afterEach(() => setLinalgBackend('auto'));

describe.skipIf(!wasm)('blocked (wasm) tridiagonalisation', () => {
  for (const n of [1, 2, 3, 4, 5, 7, 8, 9, 16, 33, 65, 130]) {
    for (const nb of [1, 2, 5, 32]) {
      it(`n = ${n}, panels of ${nb}: same d, e, τ and reflectors as the unblocked one`, () => {
        const a = randomSymmetric(n, 500 + n);
        const copy = Float64Array.from(a);
        const js = eigenTestHooks.tridiagonal(a, n, 'js')!;
        const bl = eigenTestHooks.tridiagonal(a, n, 'wasm', nb)!;
        expect(a).toEqual(copy);
        const scale = Math.max(maxAbs(js.d), maxAbs(js.e), 1);
        expect(maxDiff(bl.d, js.d)).toBeLessThanOrEqual(TOL * n * scale);
        expect(maxDiff(bl.e, js.e)).toBeLessThanOrEqual(TOL * n * scale);
        expect(maxDiff(bl.tau, js.tau)).toBeLessThanOrEqual(TOL * n);
        // Reflector entries (row k, columns k+1 … n−1).
        let m = 0;
        for (let k = 0; k < n - 2; k++) for (let j = k + 1; j < n; j++) m = Math.max(m, Math.abs(bl.work[k * n + j] - js.work[k * n + j]));
        expect(m).toBeLessThanOrEqual(1e-10);
      });
    }
  }

  it('a matrix already tridiagonal, and one with zero rows (identity reflectors)', () => {
    const n = 37;
    const a = new Float64Array(n * n);
    for (let i = 0; i < n; i++) {
      a[i * n + i] = i % 5;
      if (i + 1 < n && i % 3 !== 0) a[i * n + i + 1] = a[(i + 1) * n + i] = 0.5 + i / n;
    }
    for (const nb of [1, 4, 32]) {
      const js = eigenTestHooks.tridiagonal(a, n, 'js')!;
      const bl = eigenTestHooks.tridiagonal(a, n, 'wasm', nb)!;
      expect(bl.d).toEqual(js.d);
      expect(bl.e).toEqual(js.e);
      expect(bl.tau).toEqual(js.tau);
    }
  });
});

describe('symEigProject and symEig: wasm and js backends agree', () => {
  const cases: [number, number][] = [
    [3, 1],
    [9, 7],
    [33, 8],
    [65, 9],
    [130, 16],
    [131, 200],
    [400, 3], // more rotations than one queue batch
  ];
  for (const [n, k] of cases) {
    it(`n = ${n}, k = ${k}`, () => {
      const a = randomSymmetric(n, 900 + n);
      const b = randn(n * k, 901 + n);
      setLinalgBackend('js');
      const ref = symEigProject(a, n, b, k);
      const refEig = symEig(a, n, { vectors: Math.min(n, 5) });
      setLinalgBackend('auto');
      const got = symEigProject(a, n, b, k);
      const gotEig = symEig(a, n, { vectors: Math.min(n, 5) });
      const fa = frob(a);
      expect(maxDiff(got.values, ref.values)).toBeLessThanOrEqual(TOL * fa);
      expect(gotEig.values).toEqual(got.values);
      expect(maxDiff(gotEig.values, refEig.values)).toBeLessThanOrEqual(TOL * fa);
      // Random spectra: gaps ≫ rounding, so the projections agree to ~ε·‖B‖/gap.
      expectRowsClose(got.projected!, ref.projected!, n, k, 1e-9 * frob(b));
      expect(maxDiff(gotEig.vectors!, refEig.vectors!)).toBeLessThanOrEqual(1e-9);
    });
  }

  it('B with k = 0, and no B', () => {
    const n = 20;
    const a = randomSymmetric(n, 77);
    const r0 = symEigProject(a, n, new Float64Array(0), 0);
    expect(r0.projected!.length).toBe(0);
    const r1 = symEigProject(a, n);
    expect(r1.projected).toBeUndefined();
    expect(r1.values).toEqual(r0.values);
  });
});
