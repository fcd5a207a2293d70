import { describe, expect, it } from 'vitest';
import { ModelContext } from '../../src/core/context.js';
import { InputError } from '../../src/core/errors.js';
import { toProbabilities } from '../../src/core/probs.js';
import { leep } from '../../src/core/scorers/leep.js';
import { nce } from '../../src/core/scorers/nce.js';
import type { ClassTargets, Matrix } from '../../src/core/types.js';
import { encodeClasses } from '../../src/core/validate.js';
import { loadMatrix, loadTargets, scorerCases } from '../helpers/fixtures.js';
import { randn } from '../helpers/random.js';
import { expectClose } from '../helpers/tolerance.js';

const cases = Object.entries(scorerCases()).filter(([, c]) => c.leep !== undefined);

function scoreBoth(probs: Matrix, t: ClassTargets): { leep: number; nce: number } {
  const ctx = new ModelContext({ name: 'm', probs }, t);
  return { leep: leep.score(ctx).value, nce: nce.score(ctx).value };
}

describe('LEEP and NCE against the float64 numpy reference', () => {
  it('covers the acceptance cases', () => {
    const names = cases.map(([n]) => n);
    for (const n of ['leep_nce_src1000_float32', 'leep_nce_src50_float64', 'leep_nce_onehot_zero_mass_columns', 'leep_nce_src50_logits']) {
      expect(names).toContain(n);
    }
  });
  for (const [name, c] of cases) {
    it(`${name} (Cs = ${(c as { n_source_classes?: number }).n_source_classes})`, () => {
      const file = c.files.probs ?? c.files.logits!;
      const { probs, kind } = toProbabilities(loadMatrix(file), 'auto', file);
      expect(kind).toBe(c.files.probs ? 'probs' : 'logits');
      const t = loadTargets(c) as ClassTargets;
      const r = scoreBoth(probs, t);
      expectClose(r.leep, c.leep!, 1e-6, 1e-9, `${name} LEEP`);
      expectClose(r.nce, c.nce!, 1e-6, 1e-9, `${name} NCE`);
    });
  }
  it('logits forced with --probs-kind logits give the same values as the probabilities', () => {
    const c = scorerCases().leep_nce_src50_logits;
    const { probs } = toProbabilities(loadMatrix(c.files.logits!), 'logits', 'x');
    const r = scoreBoth(probs, loadTargets(c) as ClassTargets);
    expectClose(r.leep, c.leep!, 1e-6, 1e-9);
  });
});

/** Random softmax outputs over cs source classes, correlated with the labels. */
function randomProbs(labels: number[], cs: number, seed: number): Matrix {
  const n = labels.length;
  const z = randn(n * cs, seed);
  for (let i = 0; i < n; i++) z[i * cs + ((labels[i] * 3) % cs)] += 2;
  return toProbabilities({ data: z, rows: n, cols: cs }, 'logits', 'x').probs;
}

describe('LEEP and NCE properties', () => {
  const labels = Array.from({ length: 300 }, (_, i) => (i * 7) % 6);
  const probs = randomProbs(labels, 20, 3);
  const base = scoreBoth(probs, encodeClasses(labels, 'y'));

  it('permuting source classes leaves both unchanged', () => {
    const perm = Array.from({ length: 20 }, (_, j) => (j * 7 + 3) % 20);
    const out = new Float64Array(probs.data.length);
    for (let i = 0; i < probs.rows; i++) for (let j = 0; j < 20; j++) out[i * 20 + perm[j]] = probs.data[i * 20 + j];
    const r = scoreBoth({ data: out, rows: probs.rows, cols: 20 }, encodeClasses(labels, 'y'));
    expectClose(r.leep, base.leep, 1e-12, 1e-14);
    expectClose(r.nce, base.nce, 1e-12, 1e-14);
  });

  it('relabelling target classes leaves both unchanged', () => {
    const names = ['zebra', 'ant', 'moth', 'cat', 'bee', 'yak'];
    const r = scoreBoth(probs, encodeClasses(labels.map((l) => names[l]), 'y'));
    expectClose(r.leep, base.leep, 1e-12, 1e-14);
    expectClose(r.nce, base.nce, 1e-12, 1e-14);
  });

  it('LEEP ≤ 0 and −ln C ≤ NCE ≤ 0 on many random inputs', () => {
    for (let seed = 0; seed < 20; seed++) {
      const c = 2 + (seed % 7);
      const y = Array.from({ length: 80 }, (_, i) => (i * (seed + 1)) % c);
      const r = scoreBoth(randomProbs(y, 3 + seed, 100 + seed), encodeClasses(y, 'y'));
      expect(r.leep).toBeLessThanOrEqual(0);
      expect(r.nce).toBeLessThanOrEqual(1e-15);
      expect(r.nce).toBeGreaterThanOrEqual(-Math.log(c) - 1e-12);
    }
  });

  it('a perfectly predictive source head scores 0 on both', () => {
    const n = labels.length;
    const onehot = new Float64Array(n * 6);
    labels.forEach((l, i) => (onehot[i * 6 + l] = 1));
    const r = scoreBoth({ data: onehot, rows: n, cols: 6 }, encodeClasses(labels, 'y'));
    expect(r.leep).toBe(0);
    expect(r.nce).toBe(0);
  });
});

describe('probabilities or logits', () => {
  const m = (rows: number[][]): Matrix => ({ data: Float64Array.from(rows.flat()), rows: rows.length, cols: rows[0].length });
  it('detects probabilities (rows ≥ 0 summing to 1 ± 1e-3) and keeps them as they are', () => {
    const p = m([[0.2, 0.8], [0.5, 0.5005]]);
    const r = toProbabilities(p, 'auto', 'p.npy');
    expect(r.kind).toBe('probs');
    expect(r.probs).toBe(p);
  });
  it('treats anything else as logits: max-subtracted softmax in float64', () => {
    const r = toProbabilities(m([[1000, 1001], [0, 0]]), 'auto', 'p.npy');
    expect(r.kind).toBe('logits');
    expectClose(r.probs.data[1], 1 / (1 + Math.exp(-1)), 1e-15, 0);
    expect(r.probs.data[2]).toBe(0.5);
  });
  it('--probs-kind probs refuses negative entries and rows not summing to 1, naming the row', () => {
    expect(() => toProbabilities(m([[0.5, 0.5], [-0.1, 1.1]]), 'probs', 'p.npy')).toThrow(/p\.npy: .*row 1: negative entry -0\.1/);
    expect(() => toProbabilities(m([[0.5, 0.6]]), 'probs', 'p.npy')).toThrow(/row 0: its values sum to 1\.1/);
    expect(() => toProbabilities(m([[0.5, 0.6]]), 'probs', 'p.npy')).toThrow(InputError);
  });
  it('non-finite values are input errors with row and column', () => {
    expect(() => toProbabilities(m([[0.5, 0.5], [0.5, NaN]]), 'auto', 'p.npy')).toThrow(/found NaN at row 1, column 1/);
  });
});
