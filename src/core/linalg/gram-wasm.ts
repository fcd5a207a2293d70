/**
 * FᵀF and F Fᵀ with the WebAssembly SIMD kernels (wasm/gram.wat), on the
 * runtime of parallel.ts.
 *
 * Data flow for FᵀF: rows of F are copied, KC at a time, into a staging area
 * of the shared memory (zero-padded to m = D rounded up to 4 columns),
 * packed into a float64 panel (float32 input is widened there, once) and
 * multiplied into the upper 4 × 4 tiles of an m × m accumulator. Memory is
 * O(m² + KC·m): never a second copy of F. F Fᵀ is the same with the roles of
 * rows and columns swapped (panels of KC columns of F).
 *
 * Panel boundaries depend only on the row count (every KC rows), not on how
 * the rows arrive, so a chunked accumulation gives the same bits as one call.
 */
import type { FloatArray, Matrix } from '../types.js';
import { ensurePanels, KC, SyrkPipeline, useWorkers, type Runtime } from './parallel.js';

const roundUp4 = (n: number): number => (n + 3) & ~3;

/** Blocks owned by one computation, released together. */
class Regions {
  private readonly blocks: [number, number][] = [];
  constructor(private readonly rt: Runtime) {}
  alloc(bytes: number): number {
    const ptr = this.rt.heap.alloc(bytes);
    this.blocks.push([ptr, bytes]);
    return ptr;
  }
  release(): void {
    for (const [ptr, bytes] of this.blocks) this.rt.heap.release(ptr, bytes);
    this.blocks.length = 0;
  }
}

/** Frees the wasm memory of accumulators dropped without result(). */
const orphans = new FinalizationRegistry<Regions>((regions) => regions.release());

/** The full symmetric n × n matrix from the upper tiles of the m × m accumulator at byte offset g. */
function readSymmetric(rt: Runtime, g: number, m: number, n: number): Float64Array {
  const view = rt.heap.f64();
  const base = g / 8;
  const out = new Float64Array(n * n);
  for (let i = 0; i < n; i++) out.set(view.subarray(base + i * m + i, base + i * m + n), i * n + i);
  // Mirror the upper triangle in cache-sized blocks.
  const B = 64;
  for (let ib = 0; ib < n; ib += B) {
    const iEnd = Math.min(ib + B, n);
    for (let jb = ib; jb < n; jb += B) {
      const jEnd = Math.min(jb + B, n);
      for (let i = ib; i < iEnd; i++) {
        const ri = i * n;
        for (let j = Math.max(jb, i + 1); j < jEnd; j++) out[j * n + i] = out[ri + j];
      }
    }
  }
  return out;
}

/**
 * Copy rows [r0, r0 + count) of the row-major rows × d matrix `data` into the
 * staging area (row stride m elements, columns d..m−1 zero), starting at
 * staging row `at`. `view` is the Float32Array or Float64Array view of the
 * whole memory matching data's type; `staging` is an element index in it.
 */
function stageRows(data: FloatArray, d: number, m: number, r0: number, count: number, view: Float32Array | Float64Array, staging: number, at: number): void {
  const dst = staging + at * m;
  if (d === m) {
    view.set(data.subarray(r0 * d, (r0 + count) * d), dst);
    return;
  }
  for (let i = 0; i < count; i++) {
    const src = (r0 + i) * d;
    const row = dst + i * m;
    if (d >= 32) view.set(data.subarray(src, src + d), row);
    else for (let j = 0; j < d; j++) view[row + j] = data[src + j];
    for (let j = d; j < m; j++) view[row + j] = 0;
  }
}

/** FᵀF over row chunks, with the column sums, in wasm memory. */
export class WasmGramAccumulator {
  private readonly m: number;
  private readonly regions: Regions;
  private readonly g: number;
  private readonly colsum: number;
  private readonly staging: number;
  /** Rows waiting in the staging area, and their type. */
  private filled = 0;
  private stagedF32 = false;
  private rowsSeen = 0;
  private done = false;

  /**
   * @param rowsHint the total row count when known (one-shot gramCols), to
   *   decide on worker threads before the first panel.
   */
  constructor(
    private readonly rt: Runtime,
    private readonly d: number,
    private readonly wantColSums: boolean,
    private readonly rowsHint: number,
  ) {
    const m = roundUp4(d);
    this.m = m;
    this.regions = new Regions(rt);
    try {
      this.g = this.regions.alloc(m * m * 8);
      this.colsum = this.regions.alloc(m * 8);
      this.staging = this.regions.alloc(KC * m * 8);
      ensurePanels(rt, KC * m * 8);
    } catch (err) {
      this.regions.release();
      throw err;
    }
    const view = rt.heap.f64();
    view.fill(0, this.g / 8, this.g / 8 + m * m);
    view.fill(0, this.colsum / 8, this.colsum / 8 + m);
    orphans.register(this, this.regions, this);
  }

  add(chunk: Matrix): void {
    if (this.done) throw new Error('GramAccumulator: add() after result()');
    const { rows: n, cols, data } = chunk;
    if (cols !== this.d) throw new RangeError(`GramAccumulator: chunk has ${cols} columns, expected ${this.d}`);
    if (data.length < n * cols) throw new RangeError(`GramAccumulator: chunk data has ${data.length} values, expected ${n} × ${cols}`);
    if (n === 0) return;
    const f32 = data instanceof Float32Array;
    this.rowsSeen += n;
    ensurePanels(this.rt, KC * this.m * 8);
    const pipe = this.pipeline(Math.max(this.rowsHint, this.rowsSeen));
    try {
      // Staged rows of the other type form a (short) panel of their own.
      if (this.filled > 0 && f32 !== this.stagedF32) this.flush(pipe);
      this.stagedF32 = f32;
      const m = this.m;
      let r = 0;
      while (r < n) {
        const take = Math.min(KC - this.filled, n - r);
        const view = f32 ? this.rt.heap.f32() : this.rt.heap.f64();
        stageRows(data, this.d, m, r, take, view, this.staging / (f32 ? 4 : 8), this.filled);
        this.filled += take;
        r += take;
        if (this.filled === KC) this.flush(pipe);
      }
    } finally {
      pipe.finish();
    }
  }

  /** FᵀF (D × D, full symmetric); `colSums` (length D) receives Σ_i F[i, :]. The accumulator is spent afterwards. */
  result(colSums?: Float64Array): Float64Array {
    if (this.done) throw new Error('GramAccumulator: result() called twice');
    if (colSums !== undefined && colSums.length !== this.d) {
      throw new RangeError(`GramAccumulator: colSums has length ${colSums.length}, expected ${this.d}`);
    }
    if (colSums !== undefined && !this.wantColSums) throw new Error('GramAccumulator: created without column sums');
    if (this.filled > 0) {
      ensurePanels(this.rt, KC * this.m * 8);
      const pipe = this.pipeline(this.rowsSeen);
      try {
        this.flush(pipe);
      } finally {
        pipe.finish();
      }
    }
    this.done = true;
    const out = readSymmetric(this.rt, this.g, this.m, this.d);
    if (colSums !== undefined) colSums.set(this.rt.heap.f64().subarray(this.colsum / 8, this.colsum / 8 + this.d));
    orphans.unregister(this);
    this.regions.release();
    return out;
  }

  private pipeline(rows: number): SyrkPipeline {
    const parallel = useWorkers(this.rt, this.m, KC, rows * this.m * this.m);
    return new SyrkPipeline(this.rt, this.g, this.m, parallel);
  }

  /** Pack the staged rows into the pipeline's free buffer and submit them. */
  private flush(pipe: SyrkPipeline): void {
    const e = this.rt.exports;
    const dst = pipe.buffer();
    const colsum = this.wantColSums ? this.colsum : 0;
    if (this.stagedF32) e.pack_f32(this.staging, dst, this.filled, this.m, colsum);
    else e.pack_f64(this.staging, dst, this.filled, this.m, colsum);
    pipe.submit(this.filled);
    this.filled = 0;
  }
}

/** F Fᵀ (N × N, full symmetric) with the wasm kernels: panels of KC columns of F. */
export function wasmGramRows(rt: Runtime, f: Matrix): Float64Array {
  const { rows: n, cols: d, data } = f;
  const m = roundUp4(n);
  const regions = new Regions(rt);
  try {
    const g = regions.alloc(m * m * 8);
    const staging = regions.alloc(m * KC * 8);
    ensurePanels(rt, KC * m * 8);
    rt.heap.f64().fill(0, g / 8, g / 8 + m * m);
    const f32 = data instanceof Float32Array;
    const pipe = new SyrkPipeline(rt, g, m, useWorkers(rt, m, Math.min(KC, d), d * m * m));
    try {
      for (let c0 = 0; c0 < d; c0 += KC) {
        const len = Math.min(KC, d - c0);
        const view = f32 ? rt.heap.f32() : rt.heap.f64();
        const s = staging / (f32 ? 4 : 8);
        // Staging row i (stride len) = F[i, c0 .. c0 + len); rows n..m−1 zero.
        for (let i = 0; i < n; i++) view.set(data.subarray(i * d + c0, i * d + c0 + len), s + i * len);
        view.fill(0, s + n * len, s + m * len);
        const dst = pipe.buffer();
        if (f32) rt.exports.pack_t_f32(staging, dst, len, m);
        else rt.exports.pack_t_f64(staging, dst, len, m);
        pipe.submit(len);
      }
    } finally {
      pipe.finish();
    }
    return readSymmetric(rt, g, m, n);
  } finally {
    regions.release();
  }
}
