/**
 * The Gram backends: WebAssembly SIMD (both module variants, one thread and
 * several) and the TypeScript fallback against naive loops; thread-count
 * independence; chunked accumulation against one call.
 */
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import {
  createGramAccumulator,
  getLinalgBackend,
  gramCols,
  gramRows,
  setLinalgBackend,
  setLinalgThreads,
} from '../../src/core/linalg/index.js';
import { KC, linalgTestHooks, type WasmVariant } from '../../src/core/linalg/parallel.js';
import type { Matrix } from '../../src/core/types.js';
import { randMatrix } from '../helpers/random.js';

/** |Δ| ≤ TOL·Σ|a·b| per entry against the naive float64 loops. */
const TOL = 1e-12;

/** ReLU of Gaussians (half the entries exact zeros), float32 or float64. */
function features(rows: number, cols: number, seed: number, dtype: 'float32' | 'float64'): Matrix {
  const m = randMatrix(rows, cols, seed);
  for (let i = 0; i < m.data.length; i++) if (m.data[i] < 0) m.data[i] = 0;
  return dtype === 'float32' ? { data: Float32Array.from(m.data), rows, cols } : m;
}

/** FᵀF (or F Fᵀ with `rowsOf`) by the triple loop, with Σ|a·b| per entry. */
function naive(f: Matrix, rowsOf = false): { g: Float64Array; scale: Float64Array; n: number } {
  const { rows, cols } = f;
  // v holds the vectors to correlate, one per row: columns of F, or its rows.
  const n = rowsOf ? rows : cols;
  const len = rowsOf ? cols : rows;
  const v = new Float64Array(n * len);
  for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) {
    if (rowsOf) v[i * len + j] = f.data[i * cols + j];
    else v[j * len + i] = f.data[i * cols + j];
  }
  const g = new Float64Array(n * n);
  const scale = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) {
    let s = 0;
    let t = 0;
    for (let k = 0; k < len; k++) {
      const p = v[i * len + k] * v[j * len + k];
      s += p;
      t += Math.abs(p);
    }
    g[i * n + j] = s;
    scale[i * n + j] = t;
  }
  return { g, scale, n };
}

function expectClose(actual: Float64Array, ref: { g: Float64Array; scale: Float64Array; n: number }): void {
  expect(actual.length).toBe(ref.g.length);
  for (let i = 0; i < actual.length; i++) {
    const diff = Math.abs(actual[i] - ref.g[i]);
    if (!(diff <= TOL * ref.scale[i])) expect.fail(`entry ${i}: ${actual[i]} vs ${ref.g[i]} (diff ${diff.toExponential(2)})`);
  }
  const n = ref.n;
  for (let i = 0; i < n; i++) for (let j = 0; j < i; j++) if (actual[i * n + j] !== actual[j * n + i]) expect.fail(`G[${i},${j}] ≠ G[${j},${i}]`);
}

function expectColSums(colSums: Float64Array, f: Matrix): void {
  const { rows, cols, data } = f;
  for (let j = 0; j < cols; j++) {
    let s = 0;
    let t = 0;
    for (let i = 0; i < rows; i++) {
      s += data[i * cols + j];
      t += Math.abs(data[i * cols + j]);
    }
    expect(Math.abs(colSums[j] - s)).toBeLessThanOrEqual(TOL * t);
  }
}

/** Bit-for-bit equality (a plain loop: toEqual is slow on large typed arrays). */
function expectSameBits(actual: Float64Array, expected: Float64Array): void {
  expect(actual.length).toBe(expected.length);
  for (let i = 0; i < actual.length; i++) {
    if (!Object.is(actual[i], expected[i])) expect.fail(`entry ${i}: ${actual[i]} vs ${expected[i]}`);
  }
}

/** Rows [r0, r1) of f as a matrix of their own (a copy). */
function sliceRows(f: Matrix, r0: number, r1: number): Matrix {
  return { data: f.data.slice(r0 * f.cols, r1 * f.cols), rows: r1 - r0, cols: f.cols };
}

async function waitForWorkers(count: number): Promise<void> {
  linalgTestHooks.startWorkers();
  const deadline = Date.now() + 20_000;
  while (linalgTestHooks.readyWorkers() < count) {
    if (Date.now() > deadline) throw new Error('worker threads did not start');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

function restoreDefaults(): void {
  setLinalgBackend('auto');
  setLinalgThreads(1);
  linalgTestHooks.resetParallelThresholds();
  linalgTestHooks.setMainParticipates(true);
}

afterEach(restoreDefaults);
afterAll(() => linalgTestHooks.reset());

/** Odd shapes: 1 × 1, D = 1, D not a multiple of 4, N around the panel size KC. */
const SHAPES: readonly [number, number][] = [
  [1, 1],
  [1, 6],
  [40, 1],
  [37, 13],
  [3, 257],
  [KC - 1, 9],
  [KC + 1, 7],
  [2 * KC + 3, 66],
];

type Setup = { label: string; backend: 'js' | 'wasm'; variant?: WasmVariant; threads: number };
const SETUPS: readonly Setup[] = [
  { label: 'js', backend: 'js', threads: 1 },
  { label: 'wasm fma, 1 thread', backend: 'wasm', variant: 'fma', threads: 1 },
  { label: 'wasm plain, 1 thread', backend: 'wasm', variant: 'plain', threads: 1 },
  { label: 'wasm fma, 2 threads', backend: 'wasm', variant: 'fma', threads: 2 },
];

for (const setup of SETUPS) {
  describe(`Gram kernels: ${setup.label}`, () => {
    const use = (): void => {
      if (setup.variant !== undefined && linalgTestHooks.info().variant !== setup.variant) linalgTestHooks.reset(setup.variant);
      setLinalgBackend(setup.backend);
      setLinalgThreads(setup.threads);
      if (setup.threads > 1) linalgTestHooks.setParallelThresholds(0, 0);
    };

    it('uses the requested backend and variant', () => {
      use();
      expect(getLinalgBackend()).toBe(setup.backend);
      if (setup.variant !== undefined) expect(linalgTestHooks.info().variant).toBe(setup.variant);
    });

    for (const [n, d] of SHAPES) {
      for (const dtype of ['float32', 'float64'] as const) {
        it(`${n} × ${d} ${dtype}: FᵀF with column sums, F Fᵀ, chunked FᵀF`, () => {
          use();
          const f = features(n, d, 7 * n + d, dtype);
          const colSums = new Float64Array(d);
          const g = gramCols(f, colSums);
          expectClose(g, naive(f));
          expectColSums(colSums, f);
          expectSameBits(gramCols(f), g);
          expectClose(gramRows(f), naive(f, true));
          // Chunks of 1, 5 and the rest: the same bits as one call.
          const acc = createGramAccumulator(d);
          const cuts = [0, Math.min(1, n), Math.min(6, n), n];
          for (let c = 0; c + 1 < cuts.length; c++) acc.add(sliceRows(f, cuts[c], cuts[c + 1]));
          const sums2 = new Float64Array(d);
          expectSameBits(acc.result(sums2), g);
          expectSameBits(sums2, colSums);
        });
      }
    }

    it('float32 input accumulates in float64', () => {
      use();
      const n = 20000;
      const x = Math.fround(0.1);
      const g = gramCols({ data: new Float32Array(n).fill(0.1), rows: n, cols: 1 });
      expect(Math.abs(g[0] - n * x * x) / (n * x * x)).toBeLessThan(1e-13);
      const r = gramRows({ data: new Float32Array(n).fill(0.1), rows: 1, cols: n });
      expect(Math.abs(r[0] - n * x * x) / (n * x * x)).toBeLessThan(1e-13);
    });

    it('empty matrices', () => {
      use();
      expect(gramCols({ data: new Float64Array(0), rows: 0, cols: 3 })).toEqual(new Float64Array(9));
      expect(gramCols({ data: new Float32Array(0), rows: 4, cols: 0 }).length).toBe(0);
      expect(gramRows({ data: new Float64Array(0), rows: 3, cols: 0 })).toEqual(new Float64Array(9));
      const acc = createGramAccumulator(2);
      acc.add({ data: new Float32Array(0), rows: 0, cols: 2 });
      const sums = new Float64Array(2).fill(5);
      expect(acc.result(sums)).toEqual(new Float64Array(4));
      expect(sums).toEqual(new Float64Array(2));
    });
  });
}

describe('Gram kernels: thread-count independence', () => {
  const cases: readonly [number, number][] = [
    [600, 130],
    [KC * 3 + 17, 203],
  ];

  it('2 threads (workers doing every task, then sharing with the main thread) give the bits of 1 thread', async () => {
    linalgTestHooks.reset('fma');
    setLinalgBackend('wasm');
    setLinalgThreads(1);
    const inputs = cases.flatMap(([n, d]) => [features(n, d, n + d, 'float32'), features(n, d, n + d + 1, 'float64')]);
    const one = inputs.map((f) => ({ cols: gramCols(f, new Float64Array(f.cols)), rows: gramRows(sliceRows(f, 0, Math.min(f.rows, 150))) }));
    setLinalgThreads(2);
    linalgTestHooks.setParallelThresholds(0, 0);
    await waitForWorkers(1);
    expect(linalgTestHooks.info().workers).toBe(1);
    for (const mainToo of [false, true]) {
      linalgTestHooks.setMainParticipates(mainToo);
      inputs.forEach((f, k) => {
        expectSameBits(gramCols(f, new Float64Array(f.cols)), one[k].cols);
        expectSameBits(gramRows(sliceRows(f, 0, Math.min(f.rows, 150))), one[k].rows);
      });
    }
    // A larger problem grows the shared memory under the running worker.
    const before = linalgTestHooks.info().memoryBytes;
    const big = features(KC + 5, 700, 99, 'float32');
    linalgTestHooks.setMainParticipates(false);
    const gBig = gramCols(big);
    expect(linalgTestHooks.info().memoryBytes).toBeGreaterThan(before);
    linalgTestHooks.setMainParticipates(true);
    setLinalgThreads(1);
    expectSameBits(gramCols(big), gBig);
  });

  it('chunked accumulation on 2 threads equals one call on 1 thread', async () => {
    setLinalgBackend('wasm');
    setLinalgThreads(1);
    const f = features(3 * KC + 100, 150, 5, 'float32');
    const ref = gramCols(f, new Float64Array(150));
    setLinalgThreads(2);
    linalgTestHooks.setParallelThresholds(0, 0);
    await waitForWorkers(1);
    const acc = createGramAccumulator(150);
    for (const [r0, r1] of [
      [0, 100],
      [100, 101],
      [101, 700],
      [700, f.rows],
    ]) acc.add(sliceRows(f, r0, r1));
    expectSameBits(acc.result(new Float64Array(150)), ref);
  });
});

describe('Gram kernels: settings and misuse', () => {
  it('auto picks wasm on this Node; js forces the fallback', () => {
    setLinalgBackend('auto');
    expect(getLinalgBackend()).toBe('wasm');
    setLinalgBackend('js');
    expect(getLinalgBackend()).toBe('js');
  });

  it('the backends agree to rounding', () => {
    const f = features(300, 40, 3, 'float32');
    setLinalgBackend('js');
    const a = gramCols(f);
    setLinalgBackend('wasm');
    const b = gramCols(f);
    expectClose(a, naive(f));
    expectClose(b, naive(f));
  });

  it('rejects bad settings', () => {
    expect(() => setLinalgBackend('gpu' as never)).toThrow(RangeError);
    expect(() => setLinalgThreads(0)).toThrow(RangeError);
    expect(() => setLinalgThreads(1.5)).toThrow(RangeError);
    expect(() => createGramAccumulator(-1)).toThrow(RangeError);
  });

  for (const backend of ['js', 'wasm'] as const) {
    it(`${backend}: the accumulator checks shapes and is spent by result()`, () => {
      setLinalgBackend(backend);
      const acc = createGramAccumulator(3);
      expect(() => acc.add({ data: new Float64Array(4), rows: 2, cols: 2 })).toThrow(RangeError);
      expect(() => acc.add({ data: new Float64Array(4), rows: 2, cols: 3 })).toThrow(RangeError);
      acc.add({ data: new Float64Array([1, 2, 3]), rows: 1, cols: 3 });
      expect(() => acc.result(new Float64Array(2))).toThrow(RangeError);
      expect(Array.from(acc.result())).toEqual([1, 2, 3, 2, 4, 6, 3, 6, 9]);
      expect(() => acc.result()).toThrow(Error);
      expect(() => acc.add({ data: new Float64Array(3), rows: 1, cols: 3 })).toThrow(Error);
      expect(() => gramCols({ data: new Float64Array(6), rows: 2, cols: 3 }, new Float64Array(2))).toThrow(RangeError);
    });
  }

  it('a chunk of the other float type starts a new block but stays accurate', () => {
    setLinalgBackend('wasm');
    const f = features(50, 9, 8, 'float64');
    const acc = createGramAccumulator(9);
    acc.add(sliceRows(f, 0, 20));
    const part = sliceRows(f, 20, 50);
    acc.add({ data: Float32Array.from(part.data), rows: 30, cols: 9 });
    const mixed: Matrix = { data: Float64Array.from([...f.data.subarray(0, 180), ...Float32Array.from(part.data)]), rows: 50, cols: 9 };
    const sums = new Float64Array(9);
    expectClose(acc.result(sums), naive(mixed));
    expectColSums(sums, mixed);
  });
});
