import { afterAll, describe, expect, it } from 'vitest';
import { ModelContext } from '../../src/core/context.js';
import { logme } from '../../src/core/scorers/logme.js';
import type { Matrix, Targets } from '../../src/core/types.js';
import { encodeClasses, makeTargets } from '../../src/core/validate.js';
import { caseContext, scorerCases } from '../helpers/fixtures.js';
import { randMatrix, randn } from '../helpers/random.js';
import { expectClose } from '../helpers/tolerance.js';
import { setLinalgBackend } from '../../src/core/linalg/index.js';

/** Every fidelity case runs with the WebAssembly kernels and with the TypeScript fallback. */
const BACKENDS = ['wasm', 'js'] as const;
afterAll(() => setLinalgBackend('auto'));

const cases = Object.entries(scorerCases()).filter(([, c]) => c.logme !== undefined);

describe('LogME against the float64 numpy reference (fixtures/reference.py)', () => {
  it('has the acceptance cases', () => {
    expect(cases.length).toBeGreaterThanOrEqual(14);
  });
  for (const backend of BACKENDS) {
    for (const [name, c] of cases) {
      it(`${name} (${c.task}, N=${c.n}, D=${c.d}) — ${backend} kernels`, () => {
        setLinalgBackend(backend);
        const r = logme.score(caseContext(name, c));
        expectClose(r.value, c.logme!, 1e-6, 1e-9, name);
      });
    }
  }
});

function gaussianClasses(n: number, d: number, classes: number, separation: number, seed: number): { f: Matrix; labels: number[] } {
  const centres = randMatrix(classes, d, seed);
  const noise = randn(n * d, seed + 1);
  const data = new Float64Array(n * d);
  const labels: number[] = [];
  for (let i = 0; i < n; i++) {
    const c = i % classes;
    labels.push(c);
    for (let j = 0; j < d; j++) data[i * d + j] = separation * centres.data[c * d + j] + noise[i * d + j];
  }
  return { f: { data, rows: n, cols: d }, labels };
}

function score(f: Matrix, t: Targets): number {
  return logme.score(new ModelContext({ name: 'm', features: f }, t)).value;
}

function permuteRows(f: Matrix, perm: number[]): Matrix {
  const out = new Float64Array(f.rows * f.cols);
  perm.forEach((src, i) => out.set(f.data.subarray(src * f.cols, (src + 1) * f.cols), i * f.cols));
  return { data: out, rows: f.rows, cols: f.cols };
}

describe('LogME properties', () => {
  const { f, labels } = gaussianClasses(240, 24, 6, 1.5, 11);
  const base = score(f, encodeClasses(labels, 'y'));

  it('is unchanged when samples are permuted', () => {
    const perm = Array.from({ length: f.rows }, (_, i) => (i * 97 + 13) % f.rows);
    const permuted = score(permuteRows(f, perm), encodeClasses(perm.map((p) => labels[p]), 'y'));
    expectClose(permuted, base, 1e-10, 1e-12);
  });

  it('is unchanged when classes are renamed (any label values, any order)', () => {
    const names = [70, 3, 41, 9, 1000, 5];
    expectClose(score(f, encodeClasses(labels.map((l) => names[l]), 'y')), base, 1e-12, 1e-12);
    expectClose(score(f, encodeClasses(labels.map((l) => `class-${names[l]}`), 'y')), base, 1e-12, 1e-12);
  });

  it('scores better-separated features higher', () => {
    const values = [0.1, 0.5, 1, 2, 4].map((sep) => {
      const g = gaussianClasses(240, 24, 6, sep, 11);
      return score(g.f, encodeClasses(g.labels, 'y'));
    });
    for (let i = 1; i < values.length; i++) expect(values[i]).toBeGreaterThan(values[i - 1]);
  });

  it('scores a regression target better when it depends on the features', () => {
    const n = 200;
    const d = 10;
    const g = randMatrix(n, d, 5);
    const noise = randn(n, 6);
    const linear = new Float64Array(n);
    for (let i = 0; i < n; i++) linear[i] = g.data[i * d] - 2 * g.data[i * d + 3] + 0.1 * noise[i];
    const t = (v: Float64Array) => makeTargets({ data: v, shape: [n], dtype: '<f8' }, 'regression', 'y');
    expect(score(g, t(linear))).toBeGreaterThan(score(g, t(noise)));
  });
});
