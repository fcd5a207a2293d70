import { afterAll, describe, expect, it } from 'vitest';
import { ModelContext, type ScorerParams } from '../../src/core/context.js';
import { ScorerError } from '../../src/core/errors.js';
import { DISCO_DEFAULTS, disco, discoOptions, discoScore, type DiscoOptions, type DiscoResult } from '../../src/core/scorers/disco.js';
import type { Matrix, Targets } from '../../src/core/types.js';
import { encodeClasses, makeTargets } from '../../src/core/validate.js';
import { caseContext, scorerCases } from '../helpers/fixtures.js';
import { randMatrix, randn } from '../helpers/random.js';
import { expectClose } from '../helpers/tolerance.js';
import { setLinalgBackend } from '../../src/core/linalg/index.js';

/** Every fidelity case runs with the WebAssembly kernels and with the TypeScript fallback. */
const BACKENDS = ['wasm', 'js'] as const;
afterAll(() => setLinalgBackend('auto'));

const RTOL = 1e-6;
const ATOL = 1e-9;

const cases = Object.entries(scorerCases()).filter(([, c]) => c.disco !== undefined);

describe('DISCO against the float64 numpy reference (fixtures/reference.py)', () => {
  it('has the spec cases', () => {
    const names = new Set(cases.map(([name]) => name));
    for (const name of [
      'disco_d_gt_128_256x160', // D > 128
      'disco_n_lt_128_90x64', // N < 128
      'logme_n_lt_d_60x256', // N < D: the N × N route
      'labels_1_3_4_7', // non-contiguous labels
      'rank_deficient_collinear',
      'duplicated_columns',
      'float32_features',
      'regression_1_target',
      'regression_3_targets',
      'regression_n_lt_d',
      'disco_k_eff_lt_8_d5', // k_eff < 8
      'two_classes',
      'single_sample_class',
      'c200_x4_samples',
    ]) {
      expect(names.has(name), name).toBe(true);
    }
    expect(cases.length).toBeGreaterThanOrEqual(18);
  });

  for (const backend of BACKENDS) {
    for (const [name, c] of cases) {
      it(`${name} (${c.task}, N=${c.n}, D=${c.d}) — ${backend} kernels`, () => {
        setLinalgBackend(backend);
        const want = c.disco!;
        const r = disco.score(caseContext(name, c)) as DiscoResult;
        const got = r.details;
        expectClose(r.value, want.score, RTOL, ATOL, `${name} score`);
        expect(got.n_components).toBe(want.n_components);
        expect(got.groups).toBe(want.groups);
        expect(got.group_size).toBe(want.group_size);
        expect(got.ratio).toHaveLength(want.ratio.length);
        want.ratio.forEach((v, g) => expectClose(got.ratio[g], v, RTOL, ATOL, `${name} ratio[${g}]`));
        if (c.task === 'classification') {
          expect(got.lr).toBeUndefined();
          want.ncc!.forEach((v, g) => expectClose(got.ncc![g], v, RTOL, ATOL, `${name} ncc[${g}]`));
        } else {
          expect(got.ncc).toBeUndefined();
          want.lr!.forEach((v, g) => expectClose(got.lr![g], v, RTOL, ATOL, `${name} lr[${g}]`));
        }
        const sv = want.singular_values;
        expect(got.singular_values).toHaveLength(sv.length);
        sv.forEach((v, j) => expectClose(got.singular_values[j], v, 0, 1e-6 * sv[0], `${name} σ[${j}]`));
        expect(got.pca).toBe('exact');
        expect(got.covariance).toBe('identity');
        expect(got.rescale).toBe('none');
        if (name === 'disco_k_eff_lt_8_d5') expect(r.warnings.some((w) => /5 groups of 1 component/.test(w))).toBe(true);
        else expect(r.warnings).toEqual([]);
      });
    }
  }
});

// ---------------------------------------------------------------------------
// Synthetic data and transformations.

function gaussianClasses(n: number, d: number, classes: number, separation: number, seed: number, noise = 1): { f: Matrix; labels: number[] } {
  const centres = randMatrix(classes, d, seed);
  const eps = randn(n * d, seed + 1);
  const data = new Float64Array(n * d);
  const labels: number[] = [];
  for (let i = 0; i < n; i++) {
    const c = (i * 7) % classes;
    labels.push(c);
    // An anisotropic spectrum keeps the eigenvalues well apart (no ties at group boundaries, A17).
    for (let j = 0; j < d; j++) data[i * d + j] = separation * centres.data[c * d + j] + noise * eps[i * d + j] * (1 + j / 4);
  }
  return { f: { data, rows: n, cols: d }, labels };
}

function mapMatrix(f: Matrix, fn: (v: number, i: number, j: number) => number): Matrix {
  const data = new Float64Array(f.rows * f.cols);
  for (let i = 0; i < f.rows; i++) for (let j = 0; j < f.cols; j++) data[i * f.cols + j] = fn(f.data[i * f.cols + j], i, j);
  return { data, rows: f.rows, cols: f.cols };
}

function permuteRows(f: Matrix, perm: number[]): Matrix {
  const out = new Float64Array(f.rows * f.cols);
  perm.forEach((src, i) => out.set(f.data.subarray(src * f.cols, (src + 1) * f.cols), i * f.cols));
  return { data: out, rows: f.rows, cols: f.cols };
}

/** A random D × D orthogonal matrix: Q of the Householder QR of a Gaussian matrix. */
function randomOrthogonal(d: number, seed: number): Float64Array {
  const a = randMatrix(d, d, seed).data; // columns are reduced in place
  const q = new Float64Array(d * d);
  for (let i = 0; i < d; i++) q[i * d + i] = 1;
  const v = new Float64Array(d);
  for (let k = 0; k < d - 1; k++) {
    let norm = 0;
    for (let i = k; i < d; i++) norm += a[i * d + k] ** 2;
    norm = Math.sqrt(norm);
    const alpha = a[k * d + k] >= 0 ? -norm : norm;
    v.fill(0);
    for (let i = k; i < d; i++) v[i] = a[i * d + k];
    v[k] -= alpha;
    let vv = 0;
    for (let i = k; i < d; i++) vv += v[i] * v[i];
    if (vv === 0) continue;
    // A ← H A and Q ← Q H with H = I − 2 v vᵀ / vᵀv.
    for (let j = 0; j < d; j++) {
      let s = 0;
      for (let i = k; i < d; i++) s += v[i] * a[i * d + j];
      s = (2 * s) / vv;
      for (let i = k; i < d; i++) a[i * d + j] -= s * v[i];
    }
    for (let i = 0; i < d; i++) {
      let s = 0;
      for (let j = k; j < d; j++) s += q[i * d + j] * v[j];
      s = (2 * s) / vv;
      for (let j = k; j < d; j++) q[i * d + j] -= s * v[j];
    }
  }
  return q;
}

function matMul(f: Matrix, q: Float64Array): Matrix {
  const { rows: n, cols: d } = f;
  const out = new Float64Array(n * d);
  for (let i = 0; i < n; i++) {
    for (let t = 0; t < d; t++) {
      const x = f.data[i * d + t];
      for (let j = 0; j < d; j++) out[i * d + j] += x * q[t * d + j];
    }
  }
  return { data: out, rows: n, cols: d };
}

function run(f: Matrix, t: Targets, opts: Partial<DiscoOptions> = {}): DiscoResult {
  return discoScore(f, t, { ...DISCO_DEFAULTS, ...opts });
}

function classes(labels: readonly number[]): Targets {
  return encodeClasses(labels, 'y');
}

// ---------------------------------------------------------------------------

const shapes = [
  { label: 'D ≤ N (Xcᵀ Xc route)', n: 300, d: 40, c: 5, opts: { components: 32 } },
  { label: 'D > 128 (k_eff = 128)', n: 400, d: 150, c: 6, opts: {} },
  { label: 'N < D (Xc Xcᵀ route)', n: 70, d: 110, c: 4, opts: {} },
];

describe.each(shapes)('DISCO invariances (specs/disco.md §5), $label', ({ n, d, c, opts }) => {
  const { f, labels } = gaussianClasses(n, d, c, 1.5, 100 + d);
  const base = run(f, classes(labels), opts);
  const TIGHT = 1e-9;

  it('is a proper score', () => {
    expect(base.value).toBeGreaterThan(base.details.prior!);
    expect(base.value).toBeLessThanOrEqual(1);
    expect(base.warnings).toEqual([]);
  });

  it('is unchanged when the samples are permuted', () => {
    const perm = Array.from({ length: n }, (_, i) => (i * 37 + 11) % n);
    const r = run(permuteRows(f, perm), classes(perm.map((p) => labels[p])), opts);
    expectClose(r.value, base.value, TIGHT, TIGHT);
  });

  it('is unchanged when the classes are relabelled', () => {
    const names = [42, -3, 7, 1000, 5, 19];
    const r = run(f, classes(labels.map((l) => names[l])), opts);
    expectClose(r.value, base.value, TIGHT, TIGHT);
    r.details.ncc!.forEach((v, g) => expectClose(v, base.details.ncc![g], TIGHT, TIGHT));
  });

  it('is unchanged by sign flips of feature columns', () => {
    const r = run(mapMatrix(f, (v, _i, j) => (j % 3 === 1 ? -v : v)), classes(labels), opts);
    expectClose(r.value, base.value, TIGHT, TIGHT);
  });

  it('is unchanged by an orthogonal rotation of the features', () => {
    const q = randomOrthogonal(d, 7);
    const r = run(matMul(f, q), classes(labels), opts);
    expectClose(r.value, base.value, TIGHT, TIGHT);
    r.details.ratio.forEach((v, g) => expectClose(v, base.details.ratio[g], TIGHT, TIGHT));
  });

  it('is unchanged when a constant vector is added to every row', () => {
    const shift = randn(d, 3);
    const r = run(mapMatrix(f, (v, _i, j) => v + 1000 * shift[j]), classes(labels), opts);
    expectClose(r.value, base.value, TIGHT, TIGHT);
  });

  it('keeps the ratios under a global scale (the NCC changes)', () => {
    const r = run(mapMatrix(f, (v) => 0.05 * v), classes(labels), opts);
    r.details.ratio.forEach((v, g) => expectClose(v, base.details.ratio[g], TIGHT, TIGHT));
    r.details.singular_values.forEach((v, j) => expectClose(v, 0.05 * base.details.singular_values[j], TIGHT, TIGHT * base.details.singular_values[0]));
    expect(Math.abs(r.value - base.value)).toBeGreaterThan(1e-3);
  });

  it('with rescale unit-variance, is unchanged by a global scale', () => {
    const a = run(f, classes(labels), { ...opts, rescale: 'unit-variance' });
    const b = run(mapMatrix(f, (v) => 1e-3 * v), classes(labels), { ...opts, rescale: 'unit-variance' });
    expectClose(b.value, a.value, TIGHT, TIGHT);
    expect(a.details.rescale).toBe('unit-variance');
  });
});

describe('DISCO behaviour', () => {
  it('decreases steadily as class noise grows (Gaussian classes)', () => {
    const values = [0.25, 0.5, 1, 2, 4].map((noise) => {
      const g = gaussianClasses(400, 32, 5, 2, 21, noise);
      return run(g.f, classes(g.labels)).value;
    });
    for (let i = 1; i < values.length; i++) expect(values[i]).toBeLessThan(values[i - 1]);
    expect(values[0]).toBeGreaterThan(0.5);
    expect(values[4]).toBeLessThan(0.4);
  });

  it('warns of the feature-scale collapse (A9) and recovers with rescale unit-variance', () => {
    const { f, labels } = gaussianClasses(300, 64, 6, 1.5, 31);
    const tiny = mapMatrix(f, (v) => 1e-3 * v);
    const raw = run(tiny, classes(labels));
    const prior = raw.details.prior!;
    expectClose(prior, 1 / 6, 1e-12, 0);
    expect(Math.abs(raw.value - prior * raw.details.ratio.reduce((a, b) => a + b, 0))).toBeLessThan(1e-3);
    expect(raw.warnings).toHaveLength(1);
    expect(raw.warnings[0]).toMatch(/class prior/);
    expect(raw.warnings[0]).toMatch(/--disco-rescale unit-variance/);

    const fixed = run(tiny, classes(labels), { rescale: 'unit-variance' });
    expect(fixed.warnings).toEqual([]);
    expect(fixed.value).toBeGreaterThan(1.2 * prior);
    // The warning quotes the score the rescale would give.
    expect(raw.warnings[0]).toContain(`would be ${fixed.value.toPrecision(4)}`);
    expectClose(fixed.details.mean_variance, raw.details.mean_variance, 1e-12, 0);
  });

  it('does not blame the scale when the features carry no class signal', () => {
    const f = randMatrix(20000, 8, 41);
    const labels = Array.from({ length: 20000 }, (_, i) => i % 4);
    const r = run(f, classes(labels));
    expect(r.warnings).toHaveLength(1);
    expect(r.warnings[0]).toMatch(/no spectral group separates the classes/);
  });

  it('follows the groups and components options consistently', () => {
    const { f, labels } = gaussianClasses(300, 48, 5, 1, 51);
    const t = classes(labels);
    const small = run(f, t, { components: 16, groups: 4 });
    expect(small.details.n_components).toBe(16);
    expect(small.details.groups).toBe(4);
    expect(small.details.group_size).toBe(4);
    expect(small.details.ratio).toHaveLength(4);
    expectClose(small.details.ratio.reduce((a, b) => a + b, 0), 1, 1e-12, 1e-12);

    // Same components 0…15 in groups of 4: identical NCCs; the ratios differ
    // only by the normalisation over 16 vs 32 components.
    const big = run(f, t, { components: 32, groups: 8 });
    expect(big.details.group_size).toBe(4);
    const sum16 = small.details.singular_values.reduce((a, b) => a + b, 0);
    const sum32 = big.details.singular_values.reduce((a, b) => a + b, 0);
    for (let g = 0; g < 4; g++) {
      expectClose(small.details.ncc![g], big.details.ncc![g], 1e-10, 1e-12);
      expectClose(small.details.ratio[g] * sum16, big.details.ratio[g] * sum32, 1e-10, 1e-12);
    }
    small.details.singular_values.forEach((v, j) => expectClose(v, big.details.singular_values[j], 1e-10, 0));

    // One group holding all components: ratio 1, score = its NCC.
    const one = run(f, t, { components: 10, groups: 1 });
    expect(one.details.ratio).toEqual([1]);
    expectClose(one.value, one.details.ncc![0], 1e-15, 0);

    // G not dividing k: trailing components count in the denominator only.
    const odd = run(f, t, { components: 30, groups: 4 });
    expect(odd.details.group_size).toBe(7);
    const total = odd.details.ratio.reduce((a, b) => a + b, 0);
    const tail = odd.details.singular_values.slice(28).reduce((a, b) => a + b, 0) / odd.details.singular_values.reduce((a, b) => a + b, 0);
    expectClose(total, 1 - tail, 1e-12, 1e-12);
  });

  it('gives the regression variant: −MSE of the per-group least-squares fit', () => {
    const n = 200;
    const d = 16;
    const g = randMatrix(n, d, 61);
    const scaled = mapMatrix(g, (v, _i, j) => v * (d - j)); // distinct variances
    const noise = randn(n, 62);
    const y = new Float64Array(n);
    // The target lives on the largest-variance column: the first group fits it.
    for (let i = 0; i < n; i++) y[i] = 0.5 * scaled.data[i * d] + 0.01 * noise[i];
    const t = makeTargets({ data: y, shape: [n], dtype: '<f8' }, 'regression', 'y');
    const r = run(scaled, t, { components: 16, groups: 4 });
    expect(r.details.lr).toHaveLength(4);
    expect(r.details.prior).toBeUndefined();
    let mean = 0;
    for (let i = 0; i < n; i++) mean += y[i] / n;
    let variance = 0;
    for (let i = 0; i < n; i++) variance += (y[i] - mean) ** 2 / n;
    // lr ≤ −mean² (the centred features cannot fit the mean, A13) and the first group is nearly perfect.
    for (const v of r.details.lr!) expect(v).toBeLessThanOrEqual(-mean * mean + 1e-12);
    expect(r.details.lr![0]).toBeGreaterThan(-mean * mean - 0.01 * variance);
    expect(r.details.lr![3]).toBeLessThan(-mean * mean - 0.5 * variance);
    expect(r.value).toBeLessThan(0);
  });

  it('rejects multilabel targets, one class, and non-finite features', () => {
    const f = randMatrix(20, 4, 71);
    const ml = makeTargets({ data: new Float64Array(40).map((_, i) => i % 2), shape: [20, 2], dtype: '|u1' }, 'multilabel', 'y');
    expect(() => run(f, ml)).toThrow(ScorerError);
    expect(() => run(f, classes(new Array(20).fill(3)))).toThrow(/at least 2 classes/);
    const bad = mapMatrix(f, (v, i, j) => (i === 5 && j === 2 ? NaN : v));
    expect(() => run(bad, classes(Array.from({ length: 20 }, (_, i) => i % 2)))).toThrow(/finite/);
    const constant = mapMatrix(f, () => 3);
    expect(() => run(constant, classes(Array.from({ length: 20 }, (_, i) => i % 2)))).toThrow(/zero variance/);
  });
});

describe('DISCO scorer entry and options', () => {
  const { f, labels } = gaussianClasses(120, 20, 3, 1, 81);
  const t = classes(labels);
  const ctx = (params: ScorerParams) => new ModelContext({ name: 'm', features: f }, t, params);

  it('declares its metadata', () => {
    expect(disco.id).toBe('disco');
    expect(disco.title).toBe('DISCO');
    expect(disco.inputs).toEqual(['features']);
    expect(disco.tasks).toEqual(['classification', 'regression']);
    expect(disco.higherIsBetter).toBe(true);
    expect(disco.citation).toMatch(/arXiv:2412\.19085/);
    expect(DISCO_DEFAULTS).toEqual({ groups: 8, components: 128, rescale: 'none' });
  });

  it('reads ctx.params.disco over the defaults', () => {
    const plain = disco.score(ctx({}));
    expectClose(plain.value, run(f, t).value, 0, 0);
    const custom = disco.score(ctx({ disco: { groups: 2, components: 8 }, logme: { ignored: true } }));
    expect(custom.details).toMatchObject({ groups: 2, group_size: 4, n_components: 8 });
    const rescaled = disco.score(ctx({ disco: { rescale: 'unit-variance' } }));
    expect(rescaled.details).toMatchObject({ rescale: 'unit-variance' });
    expect(discoOptions(undefined)).toEqual(DISCO_DEFAULTS);
  });

  it('rejects invalid options with a ScorerError', () => {
    for (const params of [
      { groups: 0 },
      { groups: 2.5 },
      { components: -1 },
      { components: '16' },
      { rescale: 'l2' },
      { group: 4 },
    ]) {
      expect(() => disco.score(ctx({ disco: params })), JSON.stringify(params)).toThrow(ScorerError);
    }
  });
});
