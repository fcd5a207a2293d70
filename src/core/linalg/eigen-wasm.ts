/**
 * The symmetric eigensolver's WebAssembly SIMD path (kernels in
 * wasm/eigen.wat), on the shared memory of parallel.ts's runtime.
 *
 * - Blocked Householder tridiagonalisation (the panel/update split of
 *   Golub & Van Loan §8.3 and LAPACK's dsytrd, written from the
 *   mathematics): the reflectors of a panel of `nb` rows are generated one
 *   at a time from A v products on the trailing matrix as it was at the
 *   start of the panel, corrected by the panel's earlier reflectors,
 *   A_cur v = A v − V (Wᵀ v) − W (Vᵀ v); the trailing matrix is then
 *   updated once per panel by the symmetric rank-2nb update
 *   A ← A − V Wᵀ − W Vᵀ, which is compute-bound and SIMD-friendly. The
 *   reflectors and the tridiagonal matrix are those of the unblocked
 *   algorithm of eigen.ts, up to rounding.
 * - The reflectors are applied to B (n × k) a block at a time:
 *   X = Vᵀ B, Y_j = τ_j (X_j − Σ_{i<j} (v_jᵀ v_i) Y_i), B ← B − V Y
 *   (that is H_{last} ⋯ H_first B, the compact WY form without forming T).
 * - The QL/QR rotations are applied to the rows of that n × k matrix, eight
 *   columns per pass, the running row kept in registers.
 *
 * Layout: every matrix lives in wasm memory, row-major, rows padded with
 * zeros to a multiple of 8 columns (the kernels work on whole groups of 8).
 */
import { Buffer } from 'node:buffer';
import { activeRuntime, type Runtime } from './parallel.js';
import * as eigenBytes from './wasm/eigen-bytes.generated.js';

// The project's lib (ES2022, no DOM) declares no WebAssembly: the little used here.
type WasmModule = object;
declare const WebAssembly: {
  Module: new (bytes: Uint8Array) => WasmModule;
  Instance: new (module: WasmModule, imports: object) => { readonly exports: object };
};

/** Exports of eigen.wat (addresses and strides in bytes, counts in elements). */
interface EigenExports {
  symv(a: number, lda: number, r0: number, r1: number, ncol: number, v: number, y: number): void;
  gemm_sub(
    c: number, ldc: number, r0: number, r1: number, c0: number, c1: number, upper: number,
    u: number, su: number, sk: number, z: number, ldz: number, kc: number,
  ): void;
  dots(z: number, ldz: number, kc: number, x: number, c0: number, c1: number, out: number): void;
  rot_down(r: number, ldr: number, ncol: number, cs: number, sn: number, lo: number, hi: number): void;
  rot_up(r: number, ldr: number, ncol: number, cs: number, sn: number, lo: number, hi: number): void;
}

export interface EigenKernels {
  readonly rt: Runtime;
  readonly x: EigenExports;
}

/** Reflectors per panel of the blocked reduction (and per block applied to B). */
export const TRIDIAG_BLOCK = 32;
/** Rotations queued before they are applied to the projected matrix (2 × 1 MiB of cosines and sines). */
const ROTATION_QUEUE = 1 << 17;

const instances = new WeakMap<Runtime, EigenExports | null>();

/** The eigen kernels on the active runtime; null with the 'js' backend or when WebAssembly SIMD is unavailable. */
export function eigenKernels(): EigenKernels | null {
  const rt = activeRuntime();
  if (rt === null) return null;
  let x = instances.get(rt);
  if (x === undefined) {
    try {
      // The runtime chose its variant once per process: "fma" only where the engine accepts relaxed SIMD.
      const b64 = rt.variant === 'fma' && eigenBytes.fma !== undefined ? eigenBytes.fma : eigenBytes.plain;
      const module = new WebAssembly.Module(new Uint8Array(Buffer.from(b64, 'base64')));
      x = new WebAssembly.Instance(module, { env: { memory: rt.memory } }).exports as unknown as EigenExports;
    } catch {
      x = null;
    }
    instances.set(rt, x);
  }
  return x === null ? null : { rt, x };
}

const roundUp = (x: number, m: number): number => Math.ceil(x / m) * m;

/**
 * Row stride (elements) for rows of `nc` columns (a multiple of 8): an odd
 * multiple of 8, so that successive rows start in different cache sets (a
 * power-of-two stride makes the kernels' column walks thrash L1).
 */
const strideFor = (nc: number): number => (nc % 16 === 0 ? nc + 8 : nc);

/** Zeroed blocks of wasm memory, released together. */
class Arena {
  private readonly blocks: [number, number][] = [];
  constructor(private readonly rt: Runtime) {}
  alloc(bytes: number): number {
    const ptr = this.rt.heap.alloc(bytes);
    this.blocks.push([ptr, bytes]);
    this.rt.heap.f64().fill(0, ptr / 8, (ptr + bytes) / 8);
    return ptr;
  }
  release(): void {
    for (const [ptr, bytes] of this.blocks) this.rt.heap.release(ptr, bytes);
    this.blocks.length = 0;
  }
}

/** Applies the plane rotations of the QL/QR sweeps to the matrix a solver carries along. */
export interface Rotator {
  /** Rotation cosines and sines, written by the sweep before `down`/`up`. */
  readonly cs: Float64Array;
  readonly sn: Float64Array;
  down(lo: number, hi: number): void;
  up(lo: number, hi: number): void;
  /** Apply whatever is still pending (called once, after the last sweep). */
  finish?(): void;
}

/** The result of the blocked reduction, in wasm memory until release(). */
export class WasmTridiagonal {
  readonly d: Float64Array;
  readonly e: Float64Array;
  readonly tau: Float64Array;
  /** Row stride (elements) of the work matrix at `a` and of the panels; `nc` = n rounded up to 8, the columns the kernels sweep. */
  readonly ld: number;
  readonly nc: number;
  private readonly arena: Arena;
  /** Work matrix: row k, columns k+1 … n−1, holds v_k (v_k[k+1] = 1). */
  private readonly a: number;

  constructor(
    private readonly kern: EigenKernels,
    src: Float64Array,
    readonly n: number,
    scale: number,
    private readonly nb: number = TRIDIAG_BLOCK,
  ) {
    const nc = roundUp(Math.max(n, 1), 8);
    const ld = strideFor(nc);
    this.nc = nc;
    this.ld = ld;
    this.d = new Float64Array(n);
    this.e = new Float64Array(n);
    this.tau = new Float64Array(n);
    this.arena = new Arena(kern.rt);
    try {
      this.a = this.arena.alloc(nc * ld * 8);
      const h = kern.rt.heap.f64();
      const base = this.a / 8;
      for (let i = 0; i < n; i++) {
        const row = base + i * ld;
        const s = i * n;
        for (let j = 0; j < n; j++) h[row + j] = src[s + j] * scale;
      }
      this.reduce();
    } catch (err) {
      this.arena.release();
      throw err;
    }
  }

  private reduce(): void {
    const { n, ld, nc, d, e, tau } = this;
    const nb = Math.max(1, this.nb);
    const x = this.kern.x;
    const ar = new Arena(this.kern.rt);
    try {
      // P: rows 2j = v_j, 2j+1 = w_j; Z: rows 2j = w_j, 2j+1 = v_j (each ld long, zero outside k+1 … n−1).
      const pP = ar.alloc(2 * nb * ld * 8);
      const pZ = ar.alloc(2 * nb * ld * 8);
      const pv = ar.alloc(ld * 8);
      const py = ar.alloc(ld * 8);
      const pt = ar.alloc(2 * nb * 8);
      const h = this.kern.rt.heap.f64();
      const A = this.a / 8;
      const P = pP / 8;
      const Z = pZ / 8;
      const V = pv / 8;
      const Y = py / 8;
      const ldb = ld * 8;
      const rEnd = roundUp(n, 4);
      for (let k0 = 0; k0 < n - 2; k0 += nb) {
        const pn = Math.min(nb, n - 2 - k0);
        for (let j = 0; j < pn; j++) {
          const k = k0 + j;
          const rk = A + k * ld;
          // Row k as updated by the panel's earlier reflectors (the earlier panels are applied already).
          if (j > 0) x.gemm_sub(this.a, ldb, k, k + 1, 0, nc, 1, pP, 8, ldb, pZ, ldb, 2 * j);
          d[k] = h[rk + k];
          const alpha = h[rk + k + 1];
          let xnorm2 = 0;
          for (let c = k + 2; c < n; c++) xnorm2 += h[rk + c] * h[rk + c];
          const p2 = P + 2 * j * ld;
          const z2 = Z + 2 * j * ld;
          if (xnorm2 === 0) {
            // Row already reduced: H_k = I, v_k = w_k = 0.
            e[k] = alpha;
            tau[k] = 0;
            h.fill(0, p2, p2 + 2 * ld);
            h.fill(0, z2, z2 + 2 * ld);
            continue;
          }
          const norm = Math.sqrt(alpha * alpha + xnorm2);
          const beta = alpha >= 0 ? -norm : norm;
          const t = (beta - alpha) / beta;
          const inv = 1 / (alpha - beta);
          h.fill(0, V, V + ld);
          h[rk + k + 1] = 1;
          h[V + k + 1] = 1;
          for (let c = k + 2; c < n; c++) {
            const vc = h[rk + c] * inv;
            h[rk + c] = vc;
            h[V + c] = vc;
          }
          e[k] = beta;
          tau[k] = t;
          // y = A v on the trailing rows (A as at the start of the panel), then the panel's corrections.
          h.fill(0, Y, Y + ld);
          x.symv(this.a, ldb, (k + 1) & ~3, rEnd, nc, pv, py);
          if (j > 0) {
            const c0 = (k + 1) & ~7;
            x.dots(pZ, ldb, 2 * j, pv, c0, nc, pt);
            x.gemm_sub(py, 0, 0, 1, c0, nc, 0, pt, 0, 8, pP, ldb, 2 * j);
          }
          // w = τ y − (τ²/2)(yᵀv) v.
          let wv = 0;
          for (let c = k + 1; c < n; c++) {
            const yc = t * h[Y + c];
            h[Y + c] = yc;
            wv += yc * h[V + c];
          }
          const half = 0.5 * t * wv;
          for (let c = k + 1; c < n; c++) h[Y + c] -= half * h[V + c];
          h.fill(0, Y, Y + k + 1);
          h.copyWithin(p2, V, V + ld);
          h.copyWithin(p2 + ld, Y, Y + ld);
          h.copyWithin(z2, Y, Y + ld);
          h.copyWithin(z2 + ld, V, V + ld);
        }
        // The rank-2·pn update of the rows below the panel.
        if (k0 + pn < n) x.gemm_sub(this.a, ldb, k0 + pn, n, 0, nc, 1, pP, 8, ldb, pZ, ldb, 2 * pn);
      }
      if (n >= 2) {
        d[n - 2] = h[A + (n - 2) * ld + n - 2];
        e[n - 2] = h[A + (n - 2) * ld + n - 1];
      }
      if (n >= 1) d[n - 1] = h[A + (n - 1) * ld + n - 1];
    } finally {
      ar.release();
    }
  }

  /** The work matrix with row stride n, as the TypeScript reduction leaves it (only the reflector entries matter). */
  workToJs(): Float64Array {
    const { n, ld } = this;
    const h = this.kern.rt.heap.f64();
    const w = new Float64Array(n * n);
    const A = this.a / 8;
    for (let i = 0; i < n; i++) w.set(h.subarray(A + i * ld, A + i * ld + n), i * n);
    return w;
  }

  /**
   * Qᵀ B for the n × k row-major B, in wasm memory (row stride ldr), with a
   * Rotator that applies the sweeps' rotations to its rows. Call
   * `read(order)` for the rows in the given order; release() frees it all.
   */
  project(b: Float64Array, k: number): ProjectedRows {
    const { n, ld, nc, tau } = this;
    const nb = Math.max(1, this.nb);
    const x = this.kern.x;
    const ncr = roundUp(Math.max(k, 1), 8);
    const ldr = strideFor(ncr);
    const pR = this.arena.alloc(n * ldr * 8);
    const pcs = this.arena.alloc(Math.max(n, 1) * 8);
    const psn = this.arena.alloc(Math.max(n, 1) * 8);
    const qcap = Math.max(ROTATION_QUEUE, n);
    const pqc = this.arena.alloc(qcap * 8);
    const pqs = this.arena.alloc(qcap * 8);
    const ar = new Arena(this.kern.rt);
    try {
      const pVp = ar.alloc(nb * ld * 8);
      const pX = ar.alloc(nb * ldr * 8);
      const pG = ar.alloc(nb * nb * 8);
      const h = this.kern.rt.heap.f64();
      const R = pR / 8;
      for (let i = 0; i < n; i++) h.set(b.subarray(i * k, i * k + k), R + i * ldr);
      const A = this.a / 8;
      const Vp = pVp / 8;
      const X = pX / 8;
      const G = pG / 8;
      const nRef = Math.max(n - 2, 0);
      for (let k0 = 0; k0 < nRef; k0 += nb) {
        const pn = Math.min(nb, nRef - k0);
        for (let j = 0; j < pn; j++) {
          const kr = k0 + j;
          const row = Vp + j * ld;
          h.fill(0, row, row + ld);
          if (tau[kr] !== 0) h.set(h.subarray(A + kr * ld + kr + 1, A + kr * ld + n), row + kr + 1);
        }
        // X = −Vᵀ B over the rows k0+1 … n−1 of B (v_j vanishes above).
        h.fill(0, X, X + pn * ldr);
        x.gemm_sub(pX, ldr * 8, 0, pn, 0, ncr, 0, pVp + (k0 + 1) * 8, ld * 8, 8, pR + (k0 + 1) * ldr * 8, ldr * 8, n - k0 - 1);
        // G[j, i] = v_jᵀ v_i (i < j).
        const c0 = k0 & ~7;
        for (let j = 1; j < pn; j++) x.dots(pVp, ld * 8, j, pVp + j * ld * 8, c0, nc, pG + j * nb * 8);
        // Row j of X becomes −Y_j = τ_j (−X_j − Σ_{i<j} G[j, i] (−Y_i)), then Y_j.
        for (let j = 0; j < pn; j++) {
          const xj = X + j * ldr;
          const tj = tau[k0 + j];
          for (let i = 0; i < j; i++) {
            const g = h[G + j * nb + i];
            if (g === 0) continue;
            const xi = X + i * ldr;
            // Rows i < j already hold +Y_i: subtracting G·(−Y_i) adds G·Y_i.
            for (let c = 0; c < k; c++) h[xj + c] += g * h[xi + c];
          }
          for (let c = 0; c < k; c++) h[xj + c] = -tj * h[xj + c];
        }
        // B ← B − V Y.
        x.gemm_sub(pR, ldr * 8, k0 + 1, n, 0, ncr, 0, pVp, 8, ld * 8, pX, ldr * 8, pn);
      }
    } finally {
      ar.release();
    }
    const rt = this.kern.rt;
    // Sweeps are queued (their cosines and sines copied out) and applied in
    // batches, eight columns of R at a time through every queued sweep, so
    // that those columns (n × 64 bytes) stay in L2 across the batch.
    const cs = new Float64Array(rt.memory.buffer, pcs, Math.max(n, 1));
    const sn = new Float64Array(rt.memory.buffer, psn, Math.max(n, 1));
    const qc = new Float64Array(rt.memory.buffer, pqc, qcap);
    const qs = new Float64Array(rt.memory.buffer, pqs, qcap);
    const sweeps: number[] = []; // (down ? 1 : 0, lo, hi, queue position) per sweep
    let used = 0;
    const flush = (): void => {
      for (let col = 0; col < ncr; col += 8) {
        const r = pR + col * 8;
        for (let q = 0; q < sweeps.length; q += 4) {
          const lo = sweeps[q + 1];
          const hi = sweeps[q + 2];
          // Rotation i's cosine is at queue position at + (i − lo).
          const off = (sweeps[q + 3] - lo) * 8;
          if (sweeps[q] === 1) x.rot_down(r, ldr * 8, 8, pqc + off, pqs + off, lo, hi);
          else x.rot_up(r, ldr * 8, 8, pqc + off, pqs + off, lo, hi);
        }
      }
      sweeps.length = 0;
      used = 0;
    };
    const queue = (down: number, lo: number, hi: number): void => {
      if (used + (hi - lo) > qcap) flush();
      qc.set(cs.subarray(lo, hi), used);
      qs.set(sn.subarray(lo, hi), used);
      sweeps.push(down, lo, hi, used);
      used += hi - lo;
    };
    const rotator: Rotator = {
      cs,
      sn,
      down: (lo, hi) => queue(1, lo, hi),
      up: (lo, hi) => queue(0, lo, hi),
      finish: flush,
    };
    const read = (order: Int32Array): Float64Array => {
      const out = new Float64Array(n * k);
      const hh = rt.heap.f64();
      for (let j = 0; j < n; j++) {
        const src = pR / 8 + order[j] * ldr;
        out.set(hh.subarray(src, src + k), j * k);
      }
      return out;
    };
    return { rotator, read };
  }

  release(): void {
    this.arena.release();
  }
}

export interface ProjectedRows {
  readonly rotator: Rotator;
  read(order: Int32Array): Float64Array;
}
