import { EigenvalueDecomposition, Matrix as MlMatrix } from 'ml-matrix';
import { describe, expect, it } from 'vitest';
import { tridiagonalEigen } from '../../src/core/linalg/eigen.js';
import { classSums, gramCols, gramRows, matTMul, symEig, symEigProject } from '../../src/core/linalg/index.js';
import type { Matrix } from '../../src/core/types.js';
import { mulberry32, randMatrix, randn } from '../helpers/random.js';

// Tolerances, all relative to a norm of the input.
/** ‖A V − V Λ‖_F ≤ RES_TOL·‖A‖_F (the brief allows 1e-10; we see ~1e-15). */
const RES_TOL = 1e-12;
/** max |VᵀV − I|. */
const ORTH_TOL = 1e-12;
/** Eigenvalues against an independent solver: |Δλ| ≤ VAL_TOL·‖A‖_F. */
const VAL_TOL = 1e-12;
/** Gram kernels against naive float64 loops: |Δ| ≤ GRAM_TOL·Σ|a||b|. */
const GRAM_TOL = 1e-13;

// ---------------------------------------------------------------------------
// Helpers.

function frob(a: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * a[i];
  return Math.sqrt(s);
}

function randomSymmetric(n: number, seed: number): Float64Array {
  const g = randn(n * n, seed);
  const a = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) a[i * n + j] = (g[i * n + j] + g[j * n + i]) / 2;
  return a;
}

/** A random orthogonal matrix (row-major): Gram–Schmidt, twice, on Gaussian columns. */
function randomOrthogonal(n: number, seed: number): Float64Array {
  const q = randn(n * n, seed);
  for (let j = 0; j < n; j++) {
    for (let pass = 0; pass < 2; pass++) {
      for (let k = 0; k < j; k++) {
        let dot = 0;
        for (let i = 0; i < n; i++) dot += q[i * n + j] * q[i * n + k];
        for (let i = 0; i < n; i++) q[i * n + j] -= dot * q[i * n + k];
      }
      let nrm = 0;
      for (let i = 0; i < n; i++) nrm += q[i * n + j] ** 2;
      nrm = Math.sqrt(nrm);
      for (let i = 0; i < n; i++) q[i * n + j] /= nrm;
    }
  }
  return q;
}

/** Q diag(λ) Qᵀ for a random orthogonal Q, symmetrised exactly. */
function withSpectrum(lambda: readonly number[], seed: number): Float64Array {
  const n = lambda.length;
  const q = randomOrthogonal(n, seed);
  const a = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = i; j < n; j++) {
      let s = 0;
      for (let k = 0; k < n; k++) s += q[i * n + k] * lambda[k] * q[j * n + k];
      a[i * n + j] = s;
      a[j * n + i] = s;
    }
  }
  return a;
}

function trace(a: Float64Array, n: number): number {
  let s = 0;
  for (let i = 0; i < n; i++) s += a[i * n + i];
  return s;
}

function sum(v: Float64Array): number {
  let s = 0;
  for (let i = 0; i < v.length; i++) s += v[i];
  return s;
}

function expectDescending(values: Float64Array): void {
  for (let i = 1; i < values.length; i++) expect(values[i]).toBeLessThanOrEqual(values[i - 1]);
}

/** Residual ‖A V − V Λ‖_F / ‖A‖_F and max |VᵀV − I| for n × m row-major V. */
function eigenQuality(a: Float64Array, n: number, values: Float64Array, v: Float64Array, m: number): { res: number; orth: number } {
  let r2 = 0;
  for (let j = 0; j < m; j++) {
    for (let i = 0; i < n; i++) {
      let s = 0;
      for (let k = 0; k < n; k++) s += a[i * n + k] * v[k * m + j];
      r2 += (s - values[j] * v[i * m + j]) ** 2;
    }
  }
  let orth = 0;
  for (let j = 0; j < m; j++) {
    for (let k = j; k < m; k++) {
      let s = 0;
      for (let i = 0; i < n; i++) s += v[i * m + j] * v[i * m + k];
      orth = Math.max(orth, Math.abs(s - (j === k ? 1 : 0)));
    }
  }
  const an = frob(a);
  return { res: an === 0 ? Math.sqrt(r2) : Math.sqrt(r2) / an, orth };
}

function expectGoodVectors(a: Float64Array, n: number, values: Float64Array, v: Float64Array | undefined, m: number): void {
  expect(v).toBeDefined();
  expect(v!.length).toBe(n * m);
  const { res, orth } = eigenQuality(a, n, values, v!, m);
  expect(res).toBeLessThanOrEqual(RES_TOL);
  expect(orth).toBeLessThanOrEqual(ORTH_TOL);
}

/** Eigenvalues from ml-matrix (JAMA tred2/tql2), descending. */
function oracleValues(a: Float64Array, n: number): number[] {
  const rows: number[][] = [];
  for (let i = 0; i < n; i++) rows.push(Array.from(a.subarray(i * n, (i + 1) * n)));
  const evd = new EigenvalueDecomposition(new MlMatrix(rows), { assumeSymmetric: true });
  return [...evd.realEigenvalues].sort((x, y) => y - x);
}

function expectValuesClose(actual: ArrayLike<number>, expected: ArrayLike<number>, atol: number): void {
  expect(actual.length).toBe(expected.length);
  for (let i = 0; i < expected.length; i++) {
    const diff = Math.abs(actual[i] - expected[i]);
    if (!(diff <= atol)) expect.fail(`value ${i}: ${actual[i]} vs ${expected[i]} (diff ${diff.toExponential(3)} > ${atol.toExponential(2)})`);
  }
}

/** Vᵀ B from explicit vectors (V n × m, B n × k). */
function projectWith(v: Float64Array, n: number, m: number, b: Float64Array, k: number): Float64Array {
  const out = new Float64Array(m * k);
  for (let j = 0; j < m; j++) for (let c = 0; c < k; c++) {
    let s = 0;
    for (let i = 0; i < n; i++) s += v[i * m + j] * b[i * k + c];
    out[j * k + c] = s;
  }
  return out;
}

/** Compare projections row by row up to the sign of each row (the sign of its eigenvector). */
function expectProjectionsClose(actual: Float64Array, expected: Float64Array, m: number, k: number, atol: number): void {
  for (let j = 0; j < m; j++) {
    let dot = 0;
    for (let c = 0; c < k; c++) dot += actual[j * k + c] * expected[j * k + c];
    const sign = dot < 0 ? -1 : 1;
    for (let c = 0; c < k; c++) {
      const diff = Math.abs(sign * actual[j * k + c] - expected[j * k + c]);
      if (!(diff <= atol)) expect.fail(`projection row ${j}, column ${c}: ${sign * actual[j * k + c]} vs ${expected[j * k + c]} (diff ${diff.toExponential(3)})`);
    }
  }
}

function toFloat32(m: Matrix): Matrix {
  return { data: Float32Array.from(m.data), rows: m.rows, cols: m.cols };
}

function naiveGramCols(f: Matrix): { g: Float64Array; scale: Float64Array } {
  const { rows: n, cols: d, data } = f;
  const g = new Float64Array(d * d);
  const scale = new Float64Array(d * d);
  for (let i = 0; i < d; i++) for (let j = 0; j < d; j++) {
    let s = 0;
    let t = 0;
    for (let r = 0; r < n; r++) {
      s += data[r * d + i] * data[r * d + j];
      t += Math.abs(data[r * d + i] * data[r * d + j]);
    }
    g[i * d + j] = s;
    scale[i * d + j] = t;
  }
  return { g, scale };
}

function transposeMatrix(f: Matrix): Matrix {
  const out = new Float64Array(f.rows * f.cols);
  for (let i = 0; i < f.rows; i++) for (let j = 0; j < f.cols; j++) out[j * f.rows + i] = f.data[i * f.cols + j];
  return { data: f.data instanceof Float32Array ? Float32Array.from(out) : out, rows: f.cols, cols: f.rows };
}

function expectGramClose(actual: Float64Array, expected: { g: Float64Array; scale: Float64Array }): void {
  expect(actual.length).toBe(expected.g.length);
  for (let i = 0; i < actual.length; i++) {
    const diff = Math.abs(actual[i] - expected.g[i]);
    if (!(diff <= GRAM_TOL * expected.scale[i])) expect.fail(`entry ${i}: ${actual[i]} vs ${expected.g[i]}`);
  }
}

function expectExactlySymmetric(g: Float64Array, n: number): void {
  for (let i = 0; i < n; i++) for (let j = 0; j < i; j++) if (g[i * n + j] !== g[j * n + i]) expect.fail(`G[${i},${j}] ≠ G[${j},${i}]`);
}

/** A feature-like matrix: ReLU of Gaussians, so about half the entries are exact zeros. */
function reluMatrix(rows: number, cols: number, seed: number): Matrix & { data: Float64Array } {
  const m = randMatrix(rows, cols, seed);
  for (let i = 0; i < m.data.length; i++) if (m.data[i] < 0) m.data[i] = 0;
  return m;
}

// ---------------------------------------------------------------------------
// Gram kernels.

const SHAPES: readonly [number, number][] = [
  [37, 13],
  [5, 300],
  [300, 5],
  [1, 1],
  [129, 7], // one more row than a gramCols block
  [3, 257], // one more column than a gramRows block
  [260, 66], // several blocks, D not a multiple of 4
];


/** symEigProject(A, I) returns Vᵀ: its transpose must be an orthonormal eigenbasis of A. */
function expectProjectionsOfIdentityAreEigenbasis(a: Float64Array, n: number): void {
  const eye = new Float64Array(n * n);
  for (let i = 0; i < n; i++) eye[i * n + i] = 1;
  const { values, projected } = symEigProject(a, n, eye, n);
  const v = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) v[i * n + j] = projected![j * n + i];
  expectGoodVectors(a, n, values, v, n);
}

describe('gramCols (FᵀF, float64 accumulation)', () => {
  for (const [n, d] of SHAPES) {
    for (const dtype of ['float64', 'float32'] as const) {
      it(`${n} × ${d} ${dtype} matches naive loops, colSums too`, () => {
        const f64 = reluMatrix(n, d, 100 + n + d);
        const f = dtype === 'float32' ? toFloat32(f64) : f64;
        const colSums = new Float64Array(d);
        const g = gramCols(f, colSums);
        expect(g.length).toBe(d * d);
        expectGramClose(g, naiveGramCols(f));
        expectExactlySymmetric(g, d);
        for (let j = 0; j < d; j++) {
          let s = 0;
          let t = 0;
          for (let i = 0; i < n; i++) {
            s += f.data[i * d + j];
            t += Math.abs(f.data[i * d + j]);
          }
          expect(Math.abs(colSums[j] - s)).toBeLessThanOrEqual(GRAM_TOL * t);
        }
      });
    }
  }

  it('accumulates float32 input in float64', () => {
    // 0.1f squared and summed 20000 times: float32 accumulation is off by ~1e-4 relative.
    const n = 20000;
    const f: Matrix = { data: new Float32Array(n).fill(0.1), rows: n, cols: 1 };
    const x = Math.fround(0.1);
    const g = gramCols(f);
    expect(Math.abs(g[0] - n * x * x) / (n * x * x)).toBeLessThan(1e-13);
    const r = gramRows({ data: new Float32Array(n).fill(0.1), rows: 1, cols: n });
    expect(Math.abs(r[0] - n * x * x) / (n * x * x)).toBeLessThan(1e-13);
  });

  it('handles an empty matrix and rejects a colSums of the wrong length', () => {
    expect(gramCols({ data: new Float64Array(0), rows: 0, cols: 3 })).toEqual(new Float64Array(9));
    expect(gramCols({ data: new Float64Array(0), rows: 4, cols: 0 }).length).toBe(0);
    expect(() => gramCols({ data: new Float64Array(6), rows: 2, cols: 3 }, new Float64Array(2))).toThrow(RangeError);
  });

  it('leaves the input untouched', () => {
    const f = randMatrix(40, 9, 3);
    const copy = Float64Array.from(f.data);
    gramCols(f, new Float64Array(9));
    expect(f.data).toEqual(copy);
  });
});

describe('gramRows (F Fᵀ, float64 accumulation)', () => {
  for (const [n, d] of SHAPES) {
    for (const dtype of ['float64', 'float32'] as const) {
      it(`${n} × ${d} ${dtype} matches naive loops`, () => {
        const f64 = reluMatrix(n, d, 200 + n + d);
        const f = dtype === 'float32' ? toFloat32(f64) : f64;
        const g = gramRows(f);
        expect(g.length).toBe(n * n);
        expectGramClose(g, naiveGramCols(transposeMatrix(f)));
        expectExactlySymmetric(g, n);
      });
    }
  }
});

describe('classSums and matTMul (Fᵀ Y)', () => {
  for (const [n, d] of SHAPES) {
    for (const dtype of ['float64', 'float32'] as const) {
      it(`${n} × ${d} ${dtype}`, () => {
        const f64 = reluMatrix(n, d, 300 + n + d);
        const f = dtype === 'float32' ? toFloat32(f64) : f64;
        const numClasses = 4;
        const rnd = mulberry32(n * 7 + d);
        const labels = new Int32Array(n);
        for (let i = 0; i < n; i++) labels[i] = Math.floor(rnd() * numClasses);
        const b = classSums(f, labels, numClasses);
        expect(b.length).toBe(d * numClasses);
        const y1 = new Float64Array(n * numClasses);
        for (let i = 0; i < n; i++) y1[i * numClasses + labels[i]] = 1;
        for (const [y, k] of [
          [y1, numClasses],
          [randn(n * 7, 9), 7],
          [randn(n, 10), 1],
        ] as const) {
          const out = matTMul(f, y, k);
          expect(out.length).toBe(d * k);
          for (let j = 0; j < d; j++) for (let c = 0; c < k; c++) {
            let s = 0;
            let t = 0;
            for (let i = 0; i < n; i++) {
              s += f.data[i * d + j] * y[i * k + c];
              t += Math.abs(f.data[i * d + j] * y[i * k + c]);
            }
            expect(Math.abs(out[j * k + c] - s)).toBeLessThanOrEqual(GRAM_TOL * t);
            if (y === y1) expect(Math.abs(b[j * k + c] - s)).toBeLessThanOrEqual(GRAM_TOL * t);
          }
        }
      });
    }
  }

  it('gives empty classes zero sums and rejects bad labels and shapes', () => {
    const f = randMatrix(6, 3, 4);
    const b = classSums(f, new Int32Array([0, 0, 2, 2, 0, 2]), 4);
    for (let j = 0; j < 3; j++) {
      expect(b[j * 4 + 1]).toBe(0);
      expect(b[j * 4 + 3]).toBe(0);
    }
    expect(() => classSums(f, new Int32Array([0, 0, 5, 0, 0, 0]), 4)).toThrow(RangeError);
    expect(() => classSums(f, new Int32Array([0, 0, -1, 0, 0, 0]), 4)).toThrow(RangeError);
    expect(() => classSums(f, new Int32Array(5), 4)).toThrow(RangeError);
    expect(() => matTMul(f, new Float64Array(7), 1)).toThrow(RangeError);
  });
});

// ---------------------------------------------------------------------------
// Eigensolver.

describe('symEig on random symmetric matrices', () => {
  for (const n of [1, 2, 3, 4, 10, 37, 100]) {
    it(`n = ${n}: residual, orthogonality, trace, ml-matrix eigenvalues`, () => {
      const a = randomSymmetric(n, 1000 + n);
      const copy = Float64Array.from(a);
      const { values, vectors } = symEig(a, n, { vectors: n });
      expect(a).toEqual(copy);
      expect(values.length).toBe(n);
      expectDescending(values);
      expectGoodVectors(a, n, values, vectors, n);
      expect(Math.abs(sum(values) - trace(a, n))).toBeLessThanOrEqual(1e-13 * n * frob(a));
      expectValuesClose(values, oracleValues(a, n), VAL_TOL * frob(a));
    });
  }

  it('inverse iteration and accumulated rotations give the same leading vectors', () => {
    const n = 120;
    const a = randomSymmetric(n, 7);
    const m = 12;
    const inv = symEig(a, n, { vectors: m, method: 'inverse' });
    const ql = symEig(a, n, { vectors: m, method: 'ql' });
    const auto = symEig(a, n, { vectors: m });
    expect(inv.values).toEqual(ql.values);
    expect(auto.values).toEqual(ql.values);
    expectGoodVectors(a, n, inv.values, inv.vectors, m);
    expectGoodVectors(a, n, ql.values, ql.vectors, m);
    // Both fix each vector's sign the same way, so they agree entry by entry.
    for (let i = 0; i < n * m; i++) expect(Math.abs(inv.vectors![i] - ql.vectors![i])).toBeLessThan(1e-11);
  });

  it('fixes each vector’s sign: its entry of largest magnitude is positive', () => {
    const n = 30;
    const m = 5;
    const { vectors } = symEig(randomSymmetric(n, 8), n, { vectors: m });
    for (let j = 0; j < m; j++) {
      let best = 0;
      for (let i = 0; i < n; i++) if (Math.abs(vectors![i * m + j]) > Math.abs(best)) best = vectors![i * m + j];
      expect(best).toBeGreaterThan(0);
    }
  });

  it('returns values only by default, and rejects bad arguments', () => {
    const a = randomSymmetric(5, 9);
    expect(symEig(a, 5).vectors).toBeUndefined();
    expect(symEig(a, 5, { vectors: 0 }).vectors).toBeUndefined();
    expect(() => symEig(a, 5, { vectors: 6 })).toThrow(RangeError);
    expect(() => symEig(a, 4)).toThrow(RangeError);
    const bad = Float64Array.from(a);
    bad[7] = NaN;
    expect(() => symEig(bad, 5)).toThrow(RangeError);
    bad[7] = Infinity;
    expect(() => symEig(bad, 5)).toThrow(RangeError);
  });
});

describe('symEigProject', () => {
  for (const [n, k] of [
    [1, 1],
    [2, 3],
    [13, 4],
    [64, 10],
    [101, 7],
  ] as const) {
    it(`n = ${n}, k = ${k}: values equal symEig's, projections equal Vᵀ B up to sign`, () => {
      const a = randomSymmetric(n, 2000 + n);
      const b = randn(n * k, 3000 + n);
      const aCopy = Float64Array.from(a);
      const bCopy = Float64Array.from(b);
      const { values, projected } = symEigProject(a, n, b, k);
      expect(a).toEqual(aCopy);
      expect(b).toEqual(bCopy);
      const ref = symEig(a, n, { vectors: n, method: 'ql' });
      expect(values).toEqual(ref.values);
      expect(projected!.length).toBe(n * k);
      expectProjectionsClose(projected!, projectWith(ref.vectors!, n, n, b, k), n, k, 1e-12 * frob(b));
      expectValuesClose(values, oracleValues(a, n), VAL_TOL * frob(a));
    });
  }

  it('with B = I the projections are Vᵀ, an eigenbasis of A', () => {
    expectProjectionsOfIdentityAreEigenbasis(randomSymmetric(50, 11), 50);
  });

  it('infers k from B, accepts k = 0 and no B, and rejects bad shapes', () => {
    const a = randomSymmetric(6, 12);
    const b = randn(12, 13);
    expect(symEigProject(a, 6, b).projected).toEqual(symEigProject(a, 6, b, 2).projected);
    expect(symEigProject(a, 6, new Float64Array(0), 0).projected!.length).toBe(0);
    const only = symEigProject(a, 6);
    expect(only.projected).toBeUndefined();
    expect(only.values).toEqual(symEig(a, 6).values);
    expect(() => symEigProject(a, 6, b, 3)).toThrow(RangeError);
    expect(() => symEigProject(a, 6, randn(7, 1))).toThrow(RangeError);
  });
});

describe('eigensolver edge cases', () => {
  it('n = 0', () => {
    const a = new Float64Array(0);
    expect(symEig(a, 0).values.length).toBe(0);
    expect(symEig(a, 0, { vectors: 0 }).vectors).toBeUndefined();
    const p = symEigProject(a, 0, new Float64Array(0), 3);
    expect(p.values.length).toBe(0);
    expect(p.projected!.length).toBe(0);
  });

  it('n = 1', () => {
    const r = symEig(new Float64Array([-2.5]), 1, { vectors: 1 });
    expect(Array.from(r.values)).toEqual([-2.5]);
    expect(Array.from(r.vectors!)).toEqual([1]);
    const p = symEigProject(new Float64Array([4]), 1, new Float64Array([3, -1]), 2);
    expect(Array.from(p.values)).toEqual([4]);
    expect(Array.from(p.projected!).map(Math.abs)).toEqual([3, 1]);
  });

  it('the zero matrix', () => {
    const n = 9;
    const a = new Float64Array(n * n);
    for (const method of ['ql', 'inverse'] as const) {
      const r = symEig(a, n, { vectors: 4, method });
      expect(Array.from(r.values)).toEqual(new Array(n).fill(0));
      expectGoodVectors(a, n, r.values, r.vectors, 4);
    }
    const b = randn(n * 2, 1);
    const p = symEigProject(a, n, b, 2);
    expect(Array.from(p.values)).toEqual(new Array(n).fill(0));
    expect(frob(p.projected!)).toBeCloseTo(frob(b), 12);
  });

  it('a diagonal matrix: exact values, unit vectors, permuted projections', () => {
    const diag = [3, -1, 7, 0, 7, 2.5, -4, 1e-9];
    const n = diag.length;
    const a = new Float64Array(n * n);
    diag.forEach((x, i) => (a[i * n + i] = x));
    const sorted = [...diag].sort((x, y) => y - x);
    for (const method of ['ql', 'inverse'] as const) {
      const r = symEig(a, n, { vectors: n, method });
      expect(Array.from(r.values)).toEqual(sorted);
      expectGoodVectors(a, n, r.values, r.vectors, n);
      for (const x of r.vectors!) expect(x === 0 || x === 1).toBe(true);
    }
    const b = randn(n * 3, 2);
    const { values, projected } = symEigProject(a, n, b, 3);
    expect(Array.from(values)).toEqual(sorted);
    // Row j of Vᵀ B is the row of B whose diagonal entry is values[j] (ties in index order).
    const used = new Set<number>();
    for (let j = 0; j < n; j++) {
      const i = diag.findIndex((x, idx) => x === values[j] && !used.has(idx));
      used.add(i);
      for (let c = 0; c < 3; c++) expect(Math.abs(projected![j * 3 + c])).toBe(Math.abs(b[i * 3 + c]));
    }
  });

  it('exactly repeated eigenvalues (both vector methods, and projections)', () => {
    const spectrum = [5, 5, 5, 5, 2, 2, 2, 0, 0, 0, 0, 0, -1, -1, 3, 3, 3, 3, 3, 3, 1, 4, 4, 4, 4, 4, 4, 4, 4, 4];
    const n = spectrum.length;
    const a = withSpectrum(spectrum, 21);
    const sorted = [...spectrum].sort((x, y) => y - x);
    for (const method of ['ql', 'inverse'] as const) {
      const r = symEig(a, n, { vectors: 12, method });
      expectValuesClose(r.values, sorted, 1e-13 * frob(a));
      expectGoodVectors(a, n, r.values, r.vectors, 12);
    }
    const all = symEig(a, n, { vectors: n });
    expectGoodVectors(a, n, all.values, all.vectors, n);
    const b = randn(n * 4, 22);
    const { values, projected } = symEigProject(a, n, b, 4);
    expectValuesClose(values, sorted, 1e-13 * frob(a));
    // Within a repeated eigenvalue the basis is arbitrary, but the energy of
    // B in each eigenspace is not: compare ‖P_λ B‖ per distinct λ.
    const ref = projectWith(all.vectors!, n, n, b, 4);
    let j = 0;
    while (j < n) {
      let end = j;
      while (end < n && sorted[end] === sorted[j]) end++;
      for (let c = 0; c < 4; c++) {
        let e1 = 0;
        let e2 = 0;
        for (let q = j; q < end; q++) {
          e1 += projected![q * 4 + c] ** 2;
          e2 += ref[q * 4 + c] ** 2;
        }
        expect(Math.abs(e1 - e2)).toBeLessThan(1e-11 * frob(b) ** 2);
      }
      j = end;
    }
  });

  it('a block-diagonal matrix with the same block twice: T splits, eigenvalues pair up exactly', () => {
    const nb = 7;
    const n = 2 * nb;
    const blk = randomSymmetric(nb, 25);
    const a = new Float64Array(n * n);
    for (let i = 0; i < nb; i++) for (let j = 0; j < nb; j++) {
      a[i * n + j] = blk[i * nb + j];
      a[(i + nb) * n + j + nb] = blk[i * nb + j];
    }
    for (const method of ['ql', 'inverse'] as const) {
      const r = symEig(a, n, { vectors: 8, method });
      for (let j = 0; j < n; j += 2) expect(Math.abs(r.values[j] - r.values[j + 1])).toBeLessThan(1e-13 * frob(a));
      expectGoodVectors(a, n, r.values, r.vectors, 8);
    }
    expectValuesClose(symEig(a, n).values, oracleValues(a, n), VAL_TOL * frob(a));
  });

  it('a 30-fold eigenvalue inside the requested vectors (inverse iteration falls back to accumulation)', () => {
    // Inverse iteration cannot grow a 30th vector in a 30-dimensional
    // eigenspace after re-orthogonalisation; the solver must notice and fall
    // back to accumulated rotations (this case exercises that branch).
    const n = 60;
    const spectrum = Array.from(randn(n, 26), (x, i) => (i < 30 ? 2 : x));
    const a = withSpectrum(spectrum, 27);
    const r = symEig(a, n, { vectors: 30, method: 'inverse' });
    expectValuesClose(r.values, [...spectrum].sort((x, y) => y - x), 1e-13 * frob(a));
    expectGoodVectors(a, n, r.values, r.vectors, 30);
  });

  it('nearly coincident eigenvalue pairs (Wilkinson W21+) with inverse iteration', () => {
    const n = 21;
    const a = new Float64Array(n * n);
    for (let i = 0; i < n; i++) {
      a[i * n + i] = Math.abs(10 - i);
      if (i + 1 < n) {
        a[i * n + i + 1] = 1;
        a[(i + 1) * n + i] = 1;
      }
    }
    for (const method of ['inverse', 'ql'] as const) {
      const r = symEig(a, n, { vectors: 10, method });
      // The two largest agree to ~1e-14: the vectors must still be orthogonal.
      expect(r.values[0] - r.values[1]).toBeLessThan(1e-12);
      expectGoodVectors(a, n, r.values, r.vectors, 10);
    }
    expectValuesClose(symEig(a, n).values, oracleValues(a, n), VAL_TOL * frob(a));
  });

  it('a rank-deficient Gram matrix: zero eigenvalues at rounding level, the rest as from F Fᵀ', () => {
    const f = reluMatrix(30, 90, 31); // rank ≤ 30
    const g = gramCols(f);
    const k = gramRows(f);
    const d = 90;
    const rg = symEig(g, d, { vectors: 20 });
    const rk = symEig(k, 30).values;
    const top = rg.values[0];
    for (let i = 30; i < d; i++) expect(Math.abs(rg.values[i])).toBeLessThan(1e-13 * d * top);
    expectValuesClose(rg.values.subarray(0, 30), rk, 1e-13 * d * top);
    expectGoodVectors(g, d, rg.values, rg.vectors, 20);
    const b = classSums(f, new Int32Array(30).map((_, i) => i % 3), 3);
    const { values, projected } = symEigProject(g, d, b, 3);
    expect(values).toEqual(rg.values);
    // Fᵀ Y lies in the row space of F: no energy on the null-space directions.
    for (let j = 30; j < d; j++) for (let c = 0; c < 3; c++) expect(Math.abs(projected![j * 3 + c])).toBeLessThan(1e-10 * frob(b));
    expect(Math.abs(sum(rg.values) - trace(g, d))).toBeLessThanOrEqual(1e-13 * d * top);
  });

  it('a dense matrix with eigenvalues spanning 1e-12 … 1e8: absolute accuracy ε‖A‖', () => {
    const n = 41;
    const spectrum = Array.from({ length: n }, (_, i) => 10 ** (8 - (20 * i) / (n - 1)));
    const a = withSpectrum(spectrum, 41);
    const r = symEig(a, n, { vectors: n });
    expectValuesClose(r.values, spectrum, 1e-13 * n * 1e8);
    expectGoodVectors(a, n, r.values, r.vectors, n);
    expect(Math.abs(sum(r.values) - trace(a, n))).toBeLessThanOrEqual(1e-14 * n * 1e8);
    // The same spectrum scaled by 2^−600 and 2^600: only the scale changes.
    for (const s of [2 ** -600, 2 ** 600]) {
      const scaled = symEig(a.map((x) => x * s), n).values;
      for (let i = 0; i < n; i++) expect(scaled[i] / s).toBe(r.values[i]);
    }
  });

  it('a graded tridiagonal matrix: small eigenvalues to high relative accuracy, in either ordering', () => {
    // d_i = 10^(8−i), e_i = 0.1·√(d_i d_{i+1}): positive definite, eigenvalues from 1e8 down to ~1e−12.
    const n = 21;
    const d = Array.from({ length: n }, (_, i) => 10 ** (8 - i));
    const build = (reverse: boolean): Float64Array => {
      const a = new Float64Array(n * n);
      const at = (i: number): number => (reverse ? n - 1 - i : i);
      for (let i = 0; i < n; i++) {
        a[at(i) * n + at(i)] = d[i];
        if (i + 1 < n) {
          const off = 0.1 * Math.sqrt(d[i] * d[i + 1]);
          a[at(i) * n + at(i + 1)] = off;
          a[at(i + 1) * n + at(i)] = off;
        }
      }
      return a;
    };
    // Oracle: Σ ln λ_i = ln det T = Σ ln(pivots of T's LDLᵀ), which is
    // relatively accurate for this diagonally dominant matrix.
    let logDet = 0;
    let piv = d[0];
    logDet += Math.log(piv);
    for (let i = 1; i < n; i++) {
      const off = 0.1 * Math.sqrt(d[i - 1] * d[i]);
      piv = d[i] - (off * off) / piv;
      logDet += Math.log(piv);
    }
    const down = symEig(build(false), n).values;
    const up = symEig(build(true), n).values;
    for (let i = 0; i < n; i++) {
      expect(down[i]).toBeGreaterThan(0);
      expect(Math.abs(down[i] - up[i]) / down[i]).toBeLessThan(1e-12);
    }
    const logSum = down.reduce((s, x) => s + Math.log(x), 0);
    expect(Math.abs(logSum - logDet)).toBeLessThan(1e-11 * n);
    // Large end on top runs QR sweeps, on the bottom QL sweeps: check the
    // rotations of both on vectors and on projections (B = I gives Vᵀ).
    for (const reverse of [false, true]) {
      const a = build(reverse);
      for (const method of ['ql', 'inverse'] as const) {
        const r = symEig(a, n, { vectors: n, method });
        expect(r.values).toEqual(reverse ? up : down);
        expectGoodVectors(a, n, r.values, r.vectors, n);
      }
      expectProjectionsOfIdentityAreEigenbasis(a, n);
    }
  });

  it('the iteration cap throws an Error (a bug report, not a user error)', () => {
    const d = new Float64Array([1, 2, 3]);
    const e = new Float64Array([1, 1, 0]);
    expect(() => tridiagonalEigen(d, e, 3, undefined, 0, 0)).toThrow(/did not converge/);
    // With the default cap the same matrix converges (eigenvalues 2 ± √3 and 2).
    const d2 = new Float64Array([1, 2, 3]);
    tridiagonalEigen(d2, new Float64Array([1, 1, 0]), 3, undefined, 0);
    expectValuesClose(
      Array.from(d2).sort((x, y) => y - x),
      [2 + Math.sqrt(3), 2, 2 - Math.sqrt(3)].sort((x, y) => y - x),
      1e-14,
    );
  });

  it('sum of eigenvalues equals the trace on a larger Gram matrix, with its column sums', () => {
    const f = toFloat32(reluMatrix(500, 64, 51));
    const colSums = new Float64Array(64);
    const g = gramCols(f, colSums);
    const { values } = symEig(g, 64);
    expect(Math.abs(sum(values) - trace(g, 64))).toBeLessThanOrEqual(1e-13 * 64 * values[0]);
    for (const v of values) expect(v).toBeGreaterThan(-1e-12 * values[0]);
  });
});
