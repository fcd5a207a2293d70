/**
 * Gram matrices and the other O(N·D·…) products of a feature matrix.
 *
 * Every kernel reads the feature matrix (float32 or float64) once, block by
 * block, converts the block to float64 and accumulates in float64: float32
 * accumulation of FᵀF made LogME NaN on ill-conditioned ReLU features, and
 * specs/scorers.md §0 asks for float64 arithmetic throughout.
 *
 * Layout: every input and output is row-major. Gram outputs are full
 * symmetric matrices (both triangles filled).
 *
 * Backends: FᵀF and F Fᵀ run on WebAssembly SIMD (gram-wasm.ts, wasm/gram.wat,
 * worker threads from parallel.ts) when available, else on the TypeScript
 * kernels below; setLinalgBackend('js') forces the latter. Both accumulate
 * in float64; they agree to rounding (~1e-16 relative), not bit for bit.
 */
import type { FloatArray, Matrix } from '../types.js';
import { WasmGramAccumulator, wasmGramRows } from './gram-wasm.js';
import { activeRuntime, linalgBackendSetting } from './parallel.js';

/** Rows of F per block in gramCols: the transposed block (D × ROW_BLOCK float64) stays in L2 for D ≤ ~512. */
const ROW_BLOCK = 128;
/** Vectors per cache tile in the SYRK kernel (64 × ROW_BLOCK × 8 bytes = 64 KiB). */
const TILE = 64;

/**
 * G += S Sᵀ on the upper triangle, at the granularity of 4 × 4 blocks (the
 * diagonal 4 × 4 blocks are computed in full; the caller mirrors the upper
 * triangle at the end). S holds `m` vectors of length `len` (row-major
 * m × len, m a multiple of 4); G is m × m.
 *
 * The micro-kernel keeps a 4 × 4 block of G in 16 accumulators (8 loads per
 * 16 multiply-adds); measured faster under V8 than 2 × 4 and 2 × 2 blocks.
 * Tiles of TILE vectors keep the operands of the inner loops in L1/L2.
 */
function syrkUpper(s: Float64Array, m: number, len: number, g: Float64Array): void {
  for (let jt = 0; jt < m; jt += TILE) {
    const jEnd = Math.min(jt + TILE, m);
    for (let kt = jt; kt < m; kt += TILE) {
      const kEnd = Math.min(kt + TILE, m);
      for (let j = jt; j < jEnd; j += 4) {
        const a0 = j * len;
        const a1 = a0 + len;
        const a2 = a1 + len;
        const a3 = a2 + len;
        for (let k = kt === jt ? j : kt; k < kEnd; k += 4) {
          const b0 = k * len;
          const b1 = b0 + len;
          const b2 = b1 + len;
          const b3 = b2 + len;
          let c00 = 0, c01 = 0, c02 = 0, c03 = 0;
          let c10 = 0, c11 = 0, c12 = 0, c13 = 0;
          let c20 = 0, c21 = 0, c22 = 0, c23 = 0;
          let c30 = 0, c31 = 0, c32 = 0, c33 = 0;
          for (let i = 0; i < len; i++) {
            const y0 = s[b0 + i];
            const y1 = s[b1 + i];
            const y2 = s[b2 + i];
            const y3 = s[b3 + i];
            let x = s[a0 + i];
            c00 += x * y0;
            c01 += x * y1;
            c02 += x * y2;
            c03 += x * y3;
            x = s[a1 + i];
            c10 += x * y0;
            c11 += x * y1;
            c12 += x * y2;
            c13 += x * y3;
            x = s[a2 + i];
            c20 += x * y0;
            c21 += x * y1;
            c22 += x * y2;
            c23 += x * y3;
            x = s[a3 + i];
            c30 += x * y0;
            c31 += x * y1;
            c32 += x * y2;
            c33 += x * y3;
          }
          let o = j * m + k;
          g[o] += c00;
          g[o + 1] += c01;
          g[o + 2] += c02;
          g[o + 3] += c03;
          o += m;
          g[o] += c10;
          g[o + 1] += c11;
          g[o + 2] += c12;
          g[o + 3] += c13;
          o += m;
          g[o] += c20;
          g[o + 1] += c21;
          g[o + 2] += c22;
          g[o + 3] += c23;
          o += m;
          g[o] += c30;
          g[o + 1] += c31;
          g[o + 2] += c32;
          g[o + 3] += c33;
        }
      }
    }
  }
}

/** Copy the upper triangle of the padded m × m accumulator into a full n × n symmetric matrix. */
function symmetricFromUpper(acc: Float64Array, m: number, n: number): Float64Array {
  const out = m === n ? acc : new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    const ri = i * n;
    const ai = i * m;
    for (let j = i; j < n; j++) {
      const v = acc[ai + j];
      out[ri + j] = v;
      out[j * n + i] = v;
    }
  }
  return out;
}

const roundUp4 = (n: number): number => (n + 3) & ~3;

/** FᵀF accumulated over chunks of rows (see createGramAccumulator). */
export interface GramAccumulator {
  /** Add the rows of `chunk` (rows × D, float32 or float64; not retained). */
  add(chunk: Matrix): void;
  /**
   * FᵀF over all rows added (D × D, full symmetric, row-major, float64).
   * `colSums` (length D), if given, receives Σ_i F[i, :]. Call once: the
   * accumulator releases its memory here.
   */
  result(colSums?: Float64Array): Float64Array;
}

/**
 * FᵀF over a stream of row chunks, for matrices read piece by piece (e.g.
 * a .npy file larger than memory allows at once). The result equals
 * gramCols of the stacked chunks bit for bit, however the rows are split
 * (same backend; a chunk of another float type than the rows before it
 * starts a new block, which moves rounding only).
 */
export function createGramAccumulator(d: number, kind = 'FtF'): GramAccumulator {
  if (!Number.isInteger(d) || d < 0) throw new RangeError(`createGramAccumulator: D must be an integer ≥ 0, got ${d}`);
  return newAccumulator(d, true, 0, kind);
}

/**
 * How many Gram matrices were built, by kind: every FᵀF accumulator and every
 * F Fᵀ counts once. Tests read it to check that a run builds each kind of
 * Gram once per model (docs/scorers.md, "Shared work").
 */
export const gramCounter = {
  counts: {} as Record<string, number>,
  note(kind: string): void {
    this.counts[kind] = (this.counts[kind] ?? 0) + 1;
  },
  reset(): void {
    this.counts = {};
  },
};

function newAccumulator(d: number, wantColSums: boolean, rowsHint: number, kind = 'FtF'): GramAccumulator {
  gramCounter.note(kind);
  const rt = d > 0 ? activeRuntime() : null;
  if (rt !== null) {
    try {
      return new WasmGramAccumulator(rt, d, wantColSums, rowsHint);
    } catch (err) {
      // Out of wasm memory (4 GiB): the TypeScript kernels need no such space.
      if (!(err instanceof RangeError) || linalgBackendSetting() === 'wasm') throw err;
    }
  }
  return new JsGramAccumulator(d, wantColSums);
}

/**
 * FᵀF (D × D, full symmetric, row-major), accumulated in float64.
 *
 * When `colSums` (length D) is given it receives Σ_i F[i, :] from the same
 * pass.
 */
export function gramCols(f: Matrix, colSums?: Float64Array): Float64Array {
  const { rows: n, cols: d } = f;
  if (colSums !== undefined && colSums.length !== d) {
    throw new RangeError(`gramCols: colSums has length ${colSums.length}, expected ${d}`);
  }
  const acc = newAccumulator(d, colSums !== undefined, n);
  acc.add(f);
  return acc.result(colSums);
}

/**
 * The TypeScript FᵀF: F is read in blocks of ROW_BLOCK rows; each block is
 * transposed into a float64 scratch (one contiguous vector per column of F,
 * zero-padded to a multiple of 4 vectors) and multiplied into the upper
 * triangle by a register-blocked kernel. Rows that arrive in chunks not
 * aligned to ROW_BLOCK wait in a staging block, so the blocks, and hence the
 * bits, are those of a single call.
 */
class JsGramAccumulator implements GramAccumulator {
  private readonly m: number;
  private readonly acc: Float64Array;
  private readonly scratch: Float64Array;
  private readonly sums: Float64Array | undefined;
  private stage: Float64Array | undefined;
  private filled = 0;
  private done = false;

  constructor(
    private readonly d: number,
    wantColSums: boolean,
  ) {
    this.m = roundUp4(d);
    this.acc = new Float64Array(this.m * this.m);
    this.scratch = new Float64Array(this.m * ROW_BLOCK);
    this.sums = wantColSums ? new Float64Array(d) : undefined;
  }

  add(chunk: Matrix): void {
    if (this.done) throw new Error('GramAccumulator: add() after result()');
    const { rows: n, cols, data } = chunk;
    const d = this.d;
    if (cols !== d) throw new RangeError(`GramAccumulator: chunk has ${cols} columns, expected ${d}`);
    if (data.length < n * cols) throw new RangeError(`GramAccumulator: chunk data has ${data.length} values, expected ${n} × ${cols}`);
    if (d === 0) return;
    let r = 0;
    while (r < n) {
      if (this.filled === 0 && n - r >= ROW_BLOCK) {
        this.block(data, r, ROW_BLOCK);
        r += ROW_BLOCK;
        continue;
      }
      const take = Math.min(ROW_BLOCK - this.filled, n - r);
      this.stage ??= new Float64Array(ROW_BLOCK * d);
      this.stage.set(data.subarray(r * d, (r + take) * d), this.filled * d); // exact: float32 ⊂ float64
      this.filled += take;
      r += take;
      if (this.filled === ROW_BLOCK) {
        this.block(this.stage, 0, ROW_BLOCK);
        this.filled = 0;
      }
    }
  }

  result(colSums?: Float64Array): Float64Array {
    if (this.done) throw new Error('GramAccumulator: result() called twice');
    if (colSums !== undefined && colSums.length !== this.d) {
      throw new RangeError(`GramAccumulator: colSums has length ${colSums.length}, expected ${this.d}`);
    }
    if (colSums !== undefined && this.sums === undefined) throw new Error('GramAccumulator: created without column sums');
    if (this.filled > 0) {
      this.block(this.stage!, 0, this.filled);
      this.filled = 0;
    }
    this.done = true;
    if (colSums !== undefined) colSums.set(this.sums!);
    return symmetricFromUpper(this.acc, this.m, this.d);
  }

  private block(data: FloatArray, r0: number, len: number): void {
    transposeBlock(data, this.d, r0, len, this.scratch, this.sums);
    // The padding vectors d..m−1 must be zero at this block's stride.
    this.scratch.fill(0, this.d * len, this.m * len);
    syrkUpper(this.scratch, this.m, len, this.acc);
  }
}

/** scratch[j·len + i] = F[r0 + i, j] for i < len, j < d (vectors d..m−1 stay zero). */
function transposeBlock(data: FloatArray, d: number, r0: number, len: number, scratch: Float64Array, colSums: Float64Array | undefined): void {
  for (let i = 0; i < len; i++) {
    const row = (r0 + i) * d;
    for (let j = 0; j < d; j++) scratch[j * len + i] = data[row + j];
  }
  if (colSums !== undefined) {
    for (let j = 0; j < d; j++) {
      const v = j * len;
      let s = 0;
      for (let i = 0; i < len; i++) s += scratch[v + i];
      colSums[j] += s;
    }
  }
}

/** Columns of F per block in gramRows. */
const COL_BLOCK = 256;

/** F Fᵀ (N × N, full symmetric, row-major), accumulated in float64. */
export function gramRows(f: Matrix, kind: string | null = 'FFt'): Float64Array {
  if (kind !== null) gramCounter.note(kind);
  const rt = f.rows > 0 && f.cols > 0 ? activeRuntime() : null;
  if (rt !== null) {
    try {
      return wasmGramRows(rt, f);
    } catch (err) {
      if (!(err instanceof RangeError) || linalgBackendSetting() === 'wasm') throw err;
    }
  }
  return gramRowsJs(f);
}

/**
 * The TypeScript F Fᵀ: F is read in blocks of COL_BLOCK columns: the N
 * row-slices of a block are already contiguous vectors, converted to float64
 * and fed to the same register-blocked kernel as gramCols.
 */
function gramRowsJs(f: Matrix): Float64Array {
  const { rows: n, cols: d, data } = f;
  const m = roundUp4(n);
  const acc = new Float64Array(m * m);
  if (n === 0 || d === 0) return symmetricFromUpper(acc, m, n);
  const bs = Math.min(COL_BLOCK, d);
  const scratch = new Float64Array(m * bs);
  for (let c0 = 0; c0 < d; c0 += bs) {
    const len = Math.min(bs, d - c0);
    for (let i = 0; i < n; i++) {
      const src = i * d + c0;
      const dst = i * len;
      for (let j = 0; j < len; j++) scratch[dst + j] = data[src + j];
    }
    syrkUpper(scratch, m, len, acc);
  }
  return symmetricFromUpper(acc, m, n);
}

/**
 * Per-class column sums: B (D × C, row-major) with B[j·C + c] = Σ_{i: y_i = c} F[i, j].
 * This is Fᵀ Y for the one-hot target matrix Y, in O(N·D).
 */
export function classSums(f: Matrix, labels: Int32Array, numClasses: number): Float64Array {
  const { rows: n, cols: d, data } = f;
  if (labels.length !== n) throw new RangeError(`classSums: ${labels.length} labels for ${n} rows`);
  // Accumulate C × D (contiguous row adds), then transpose once.
  const sums = new Float64Array(numClasses * d);
  for (let i = 0; i < n; i++) {
    const c = labels[i];
    if (!(c >= 0 && c < numClasses)) throw new RangeError(`classSums: label ${c} at row ${i} is outside 0..${numClasses - 1}`);
    const dst = c * d;
    const src = i * d;
    for (let j = 0; j < d; j++) sums[dst + j] += data[src + j];
  }
  const out = new Float64Array(d * numClasses);
  for (let c = 0; c < numClasses; c++) {
    const src = c * d;
    for (let j = 0; j < d; j++) out[j * numClasses + c] = sums[src + j];
  }
  return out;
}

/** Rows of F per block in matTMul. */
const TMUL_BLOCK = 64;

/**
 * Fᵀ Y (D × k, row-major) for a row-major N × k matrix Y, accumulated in float64.
 *
 * Rows are processed in blocks; for each output row j the block's
 * contributions Σ_i F[i, j]·Y[i, :] are added four rows at a time while the
 * output row stays in L1.
 */
export function matTMul(f: Matrix, y: Float64Array, k: number): Float64Array {
  const { rows: n, cols: d, data } = f;
  if (y.length !== n * k) throw new RangeError(`matTMul: Y has ${y.length} values, expected ${n} × ${k}`);
  const out = new Float64Array(d * k);
  if (n === 0 || d === 0 || k === 0) return out;
  const bs = Math.min(TMUL_BLOCK, n);
  const block = new Float64Array(d * bs); // transposed: block[j·len + i] = F[r0 + i, j]
  for (let r0 = 0; r0 < n; r0 += bs) {
    const len = Math.min(bs, n - r0);
    transposeBlock(data, d, r0, len, block, undefined);
    const yBase = r0 * k;
    for (let j = 0; j < d; j++) {
      const o = j * k;
      const fj = j * len;
      let i = 0;
      for (; i + 4 <= len; i += 4) {
        const a0 = block[fj + i];
        const a1 = block[fj + i + 1];
        const a2 = block[fj + i + 2];
        const a3 = block[fj + i + 3];
        if (a0 === 0 && a1 === 0 && a2 === 0 && a3 === 0) continue; // ReLU features are sparse
        const y0 = yBase + i * k;
        const y1 = y0 + k;
        const y2 = y1 + k;
        const y3 = y2 + k;
        for (let t = 0; t < k; t++) out[o + t] += a0 * y[y0 + t] + a1 * y[y1 + t] + a2 * y[y2 + t] + a3 * y[y3 + t];
      }
      for (; i < len; i++) {
        const a = block[fj + i];
        if (a === 0) continue;
        const y0 = yBase + i * k;
        for (let t = 0; t < k; t++) out[o + t] += a * y[y0 + t];
      }
    }
  }
  return out;
}
