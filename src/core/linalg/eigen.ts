/**
 * Symmetric eigen-decomposition for the scorers (specs/scorers.md §0, §1.3).
 *
 * Pipeline, written from the textbook mathematics (Golub & Van Loan,
 * "Matrix Computations", §8.3 Householder tridiagonalisation and the
 * implicit symmetric QR step with Wilkinson shift; Wilkinson & Reinsch's QL
 * formulation; inverse iteration as in Parlett, "The Symmetric Eigenvalue
 * Problem", ch. 4):
 *
 * 1. A is copied once (scaled by a power of two so that max |a_ij| ∈ [1, 2):
 *    exact, and it keeps every square in the sweeps far from over/underflow)
 *    and reduced to tridiagonal form T = Qᵀ A Q by Householder reflectors
 *    H_0 … H_{n−3}, stored in the rows of the work copy.
 * 2. T is diagonalised by implicit QL or QR sweeps with Wilkinson shifts
 *    (QL when the block is graded with its large end at the bottom, QR
 *    otherwise, so that the small end deflates first). Each sweep's plane
 *    rotations can be applied to the rows of a p × n matrix R (R ← R·G).
 * 3. What R is decides what comes out:
 *    - symEigProject: R = (Qᵀ B)ᵀ, giving (Vᵀ B)ᵀ without ever forming V —
 *      O(n²·k) instead of O(n³);
 *    - symEig, all vectors: R = Q (formed in place), giving V;
 *    - symEig, a few leading vectors: no rotations at all; the eigenvectors
 *      of T are found by inverse iteration and mapped back through the
 *      reflectors (O(n²·m)). Should a vector fail its residual check, the
 *      solver falls back to the accumulated-rotation path.
 *
 * With the WebAssembly backend (eigen-wasm.ts), step 1 is the blocked
 * reduction (panels of reflectors, then a SIMD rank-2k update), the
 * reflectors reach B in blocks, and the rotations are applied with SIMD to
 * the rows of the n × k matrix Qᵀ B in batches; the 'js' backend runs the
 * TypeScript code below. Both give the same results to rounding.
 *
 * Eigenvalues come back sorted descending; ties keep the order in which they
 * were found (lower index of T first), so results are deterministic.
 * Eigenvalues are not clipped: a rank-deficient Gram matrix yields values of
 * order ±ε‖A‖ where it has zeros (scorers clip them, specs/scorers.md §0).
 *
 * Only the upper triangle of A is read. Neither A nor B is modified.
 */

import { eigenKernels, TRIDIAG_BLOCK, WasmTridiagonal, type EigenKernels, type Rotator } from './eigen-wasm.js';

const EPS = Number.EPSILON;
/** Below this, |e_i| counts as zero whatever the diagonal (underflow guard). */
const SAFMIN = 2.2250738585072014e-308 / EPS;
/** Sweeps allowed over the whole matrix, per eigenvalue (LAPACK's dsteqr uses 30). */
const MAX_SWEEPS_PER_VALUE = 30;
/** Reflectors applied per pass over the rows of R (keeps the reflectors in L2 and a row of R in L1). */
const REFLECTOR_BLOCK = 16;

export interface EigenProjection {
  /** Eigenvalues, descending. */
  readonly values: Float64Array;
  /** Vᵀ B: n × k row-major, row j belongs to values[j]; undefined when no B was given. */
  readonly projected: Float64Array | undefined;
}

export interface EigenDecomposition {
  /** Eigenvalues, descending. */
  readonly values: Float64Array;
  /** n × m row-major; column j is the unit eigenvector of values[j]; undefined when no vectors were asked for. */
  readonly vectors: Float64Array | undefined;
}

export interface SymEigOptions {
  /** Number m of leading eigenvectors to return (0 ≤ m ≤ n); default 0. */
  readonly vectors?: number;
  /**
   * How the vectors are computed: 'inverse' (inverse iteration on T, falls
   * back to 'ql' if a vector fails its check), 'ql' (accumulated rotations,
   * O(n³)), or 'auto' (the default: 'inverse' unless m > n/2 or n ≤ 16).
   * For tests and benchmarks; results agree to rounding.
   */
  readonly method?: 'auto' | 'inverse' | 'ql';
}

// ---------------------------------------------------------------------------
// Step 1: copy, scale, tridiagonalise.

interface Tridiagonal {
  readonly n: number;
  /** Work copy of A: row k (columns k+1 … n−1) holds the Householder vector v_k, with v_k[k+1] = 1. */
  readonly work: Float64Array;
  readonly tau: Float64Array;
  /** Diagonal and off-diagonal of T (e[i] = T[i, i+1], e[n−1] = 0), in the scaled units. */
  readonly d: Float64Array;
  readonly e: Float64Array;
  /** The eigenvalues of A are those of T divided by `scale`. */
  readonly scale: number;
}

function checkSquare(a: Float64Array, n: number, who: string): void {
  if (!Number.isInteger(n) || n < 0) throw new RangeError(`${who}: n must be a non-negative integer, got ${n}`);
  if (a.length !== n * n) throw new RangeError(`${who}: A has ${a.length} values, expected ${n} × ${n} = ${n * n}`);
}

/** The power of two that brings A's largest entry into [1, 2) (checks A for NaN and ±∞). */
function scaleOf(a: Float64Array, n: number, who: string): number {
  let maxAbs = 0;
  for (let i = 0; i < a.length; i++) {
    const v = Math.abs(a[i]);
    if (v > maxAbs) maxAbs = v;
    else if (v !== v) throw new RangeError(`${who}: A[${Math.floor(i / n)}, ${i % n}] is NaN`);
  }
  if (maxAbs === Infinity) throw new RangeError(`${who}: A has an infinite entry`);
  let scale = 1;
  if (maxAbs > 0) {
    const exp = Math.floor(Math.log2(maxAbs));
    // For subnormal maxima 2^−exp overflows: leave such a matrix unscaled.
    scale = Math.pow(2, -exp);
    if (!Number.isFinite(scale)) scale = 1;
  }
  return scale;
}

/** Copy A scaled by a power of two (exact) so that its largest entry lies in [1, 2). */
function scaledCopy(a: Float64Array, n: number, who: string): { work: Float64Array; scale: number } {
  const scale = scaleOf(a, n, who);
  const work = new Float64Array(a.length);
  for (let i = 0; i < a.length; i++) work[i] = a[i] * scale;
  return { work, scale };
}

/**
 * Householder reduction of the symmetric matrix in `w` (upper triangle used)
 * to tridiagonal form, top-down: step k annihilates A[k, k+2 …] with
 * H_k = I − τ_k v_k v_kᵀ acting on indices k+1 … n−1, and updates the
 * trailing block S by the symmetric rank-2 formula
 *   p = τ S v,  q = p − (τ/2)(pᵀv) v,  S ← S − v qᵀ − q vᵀ.
 *
 * The update of step k and the product S v of step k+1 share one pass over
 * the trailing block (only row k+1 is updated ahead, to build v_{k+1}), and
 * that pass handles two rows at a time: the reduction is bound by memory
 * traffic over the n³/6 touched entries, which this roughly halves.
 */
function tridiagonalize(a: Float64Array, n: number, who: string): Tridiagonal {
  const kern = wasmKernelsFor(n);
  if (kern !== null) {
    const scale = scaleOf(a, n, who);
    const t = tryWasm(() => new WasmTridiagonal(kern, a, n, scale));
    if (t !== undefined) {
      try {
        return { n, work: t.workToJs(), tau: t.tau, d: t.d, e: t.e, scale };
      } finally {
        t.release();
      }
    }
  }
  return tridiagonalizeJs(a, n, who);
}

/** Below this order the TypeScript reduction is used whatever the backend (nothing to gain). */
const WASM_MIN_N = 3;

/** The WebAssembly kernels when the backend allows them and n is worth it, else null. */
function wasmKernelsFor(n: number): EigenKernels | null {
  return n >= WASM_MIN_N ? eigenKernels() : null;
}

/** Runs f; a RangeError (wasm memory cannot grow) means: use the TypeScript path instead. */
function tryWasm<T>(f: () => T): T | undefined {
  try {
    return f();
  } catch (err) {
    if (err instanceof RangeError) return undefined;
    throw err;
  }
}

/** The unblocked reduction in TypeScript (the 'js' backend and the reference for the blocked one). */
function tridiagonalizeJs(a: Float64Array, n: number, who: string): Tridiagonal {
  const { work: w, scale } = scaledCopy(a, n, who);
  const d = new Float64Array(n);
  const e = new Float64Array(n);
  const tau = new Float64Array(n);
  // Reflector and update vector of this step (v, q) and of the previous one,
  // whose update is still pending on rows ≥ k+1 (vp, qp; zero at k = 0).
  let v = new Float64Array(n);
  let q = new Float64Array(n);
  let vp = new Float64Array(n);
  let qp = new Float64Array(n);
  for (let k = 0; k < n - 2; k++) {
    // Invariant: row k is fully updated; rows > k still miss (vp, qp).
    const rk = k * n;
    d[k] = w[rk + k];
    const alpha = w[rk + k + 1];
    let xnorm2 = 0;
    for (let j = k + 2; j < n; j++) xnorm2 += w[rk + j] * w[rk + j];
    let t = 0;
    if (xnorm2 === 0) {
      // Row already reduced: H_k = I, but the pending update still has to be applied.
      e[k] = alpha;
      v.fill(0, k + 1, n);
    } else {
      const norm = Math.sqrt(alpha * alpha + xnorm2);
      const beta = alpha >= 0 ? -norm : norm;
      t = (beta - alpha) / beta;
      const inv = 1 / (alpha - beta);
      v[k + 1] = 1;
      w[rk + k + 1] = 1;
      for (let j = k + 2; j < n; j++) {
        const vj = w[rk + j] * inv;
        v[j] = vj;
        w[rk + j] = vj;
      }
      e[k] = beta;
    }
    tau[k] = t;
    // q = S v where S = trailing block after the pending update, applied on the fly.
    q.fill(0, k + 1, n);
    updateAndMultiply(w, n, k + 1, vp, qp, v, q);
    let qv = 0;
    for (let i = k + 1; i < n; i++) {
      q[i] *= t;
      qv += q[i] * v[i];
    }
    const half = 0.5 * t * qv;
    for (let i = k + 1; i < n; i++) q[i] -= half * v[i];
    // Update row k+1 now, so that step k+1 can read it.
    const r1 = (k + 1) * n;
    const v1 = v[k + 1];
    const q1 = q[k + 1];
    for (let j = k + 1; j < n; j++) w[r1 + j] -= v1 * q[j] + q1 * v[j];
    let tmp = vp;
    vp = v;
    v = tmp;
    tmp = qp;
    qp = q;
    q = tmp;
  }
  if (n >= 3) w[n * n - 1] -= 2 * vp[n - 1] * qp[n - 1]; // the last pending update, on the last row
  if (n >= 2) {
    d[n - 2] = w[(n - 2) * n + n - 2];
    e[n - 2] = w[(n - 2) * n + n - 1];
  }
  if (n >= 1) d[n - 1] = w[n * n - 1];
  return { n, work: w, tau, d, e, scale };
}

/**
 * For the rows i ≥ i0 of the upper-stored trailing block S: apply the pending
 * rank-2 update S ← S − vp qpᵀ − qp vpᵀ, and accumulate y += S v with the
 * updated values (the upper entry S[i, j] also stands for S[j, i], so it adds
 * S[i, j]·v[j] to y[i] and S[i, j]·v[i] to y[j]). Four rows per pass share
 * the loads of vp, qp, v and y (measured ~25% faster than two).
 */
function updateAndMultiply(w: Float64Array, n: number, i0: number, vp: Float64Array, qp: Float64Array, v: Float64Array, y: Float64Array): void {
  let i = i0;
  for (; i + 4 <= n; i += 4) {
    // The 4 × 4 diagonal block, upper part.
    for (let a = i; a < i + 4; a++) {
      const ra = a * n;
      for (let b = a; b < i + 4; b++) {
        const x = w[ra + b] - (vp[a] * qp[b] + qp[a] * vp[b]);
        w[ra + b] = x;
        y[a] += x * v[b];
        if (b !== a) y[b] += x * v[a];
      }
    }
    const r0 = i * n;
    const r1 = r0 + n;
    const r2 = r1 + n;
    const r3 = r2 + n;
    const vp0 = vp[i];
    const vp1 = vp[i + 1];
    const vp2 = vp[i + 2];
    const vp3 = vp[i + 3];
    const qp0 = qp[i];
    const qp1 = qp[i + 1];
    const qp2 = qp[i + 2];
    const qp3 = qp[i + 3];
    const v0 = v[i];
    const v1 = v[i + 1];
    const v2 = v[i + 2];
    const v3 = v[i + 3];
    let s0 = 0;
    let s1 = 0;
    let s2 = 0;
    let s3 = 0;
    for (let j = i + 4; j < n; j++) {
      const vpj = vp[j];
      const qpj = qp[j];
      const vj = v[j];
      const b0 = w[r0 + j] - (vp0 * qpj + qp0 * vpj);
      const b1 = w[r1 + j] - (vp1 * qpj + qp1 * vpj);
      const b2 = w[r2 + j] - (vp2 * qpj + qp2 * vpj);
      const b3 = w[r3 + j] - (vp3 * qpj + qp3 * vpj);
      w[r0 + j] = b0;
      w[r1 + j] = b1;
      w[r2 + j] = b2;
      w[r3 + j] = b3;
      s0 += b0 * vj;
      s1 += b1 * vj;
      s2 += b2 * vj;
      s3 += b3 * vj;
      y[j] += b0 * v0 + b1 * v1 + (b2 * v2 + b3 * v3);
    }
    y[i] += s0;
    y[i + 1] += s1;
    y[i + 2] += s2;
    y[i + 3] += s3;
  }
  // The last (fewer than four) rows.
  for (; i < n; i++) {
    const ri = i * n;
    const vpi = vp[i];
    const qpi = qp[i];
    const vi = v[i];
    const x = w[ri + i] - 2 * vpi * qpi;
    w[ri + i] = x;
    let si = x * vi;
    for (let j = i + 1; j < n; j++) {
      const b = w[ri + j] - (vpi * qp[j] + qpi * vp[j]);
      w[ri + j] = b;
      si += b * v[j];
      y[j] += b * vi;
    }
    y[i] += si;
  }
}

/**
 * Apply the reflectors to every row r of the p × n matrix R:
 * ascending: r ← r H_0 H_1 … H_{n−3} (R = Bᵀ becomes Bᵀ Q = (Qᵀ B)ᵀ);
 * descending: r ← r H_{n−3} … H_0 (R = Wᵀ becomes Wᵀ Qᵀ = (Q W)ᵀ).
 * Reflectors go in blocks (kept in cache) over groups of four rows (each
 * load of a reflector entry serves four rows).
 */
function applyReflectors(t: Tridiagonal, r: Float64Array, p: number, ascending: boolean): void {
  const { n, work: w, tau } = t;
  const nRef = Math.max(n - 2, 0);
  for (let b = 0; b < nRef; b += REFLECTOR_BLOCK) {
    const kLo = ascending ? b : Math.max(nRef - b - REFLECTOR_BLOCK, 0);
    const kHi = ascending ? Math.min(b + REFLECTOR_BLOCK, nRef) : nRef - b;
    let row = 0;
    for (; row + 4 <= p; row += 4) {
      const b0 = row * n;
      const b1 = b0 + n;
      const b2 = b1 + n;
      const b3 = b2 + n;
      for (let q = 0; q < kHi - kLo; q++) {
        const k = ascending ? kLo + q : kHi - 1 - q;
        const tk = tau[k];
        if (tk === 0) continue;
        const rk = k * n;
        let d0 = 0;
        let d1 = 0;
        let d2 = 0;
        let d3 = 0;
        for (let j = k + 1; j < n; j++) {
          const vj = w[rk + j];
          d0 += vj * r[b0 + j];
          d1 += vj * r[b1 + j];
          d2 += vj * r[b2 + j];
          d3 += vj * r[b3 + j];
        }
        d0 *= tk;
        d1 *= tk;
        d2 *= tk;
        d3 *= tk;
        for (let j = k + 1; j < n; j++) {
          const vj = w[rk + j];
          r[b0 + j] -= d0 * vj;
          r[b1 + j] -= d1 * vj;
          r[b2 + j] -= d2 * vj;
          r[b3 + j] -= d3 * vj;
        }
      }
    }
    for (; row < p; row++) {
      const b0 = row * n;
      for (let q = 0; q < kHi - kLo; q++) {
        const k = ascending ? kLo + q : kHi - 1 - q;
        const tk = tau[k];
        if (tk === 0) continue;
        const rk = k * n;
        let d0 = 0;
        for (let j = k + 1; j < n; j++) d0 += w[rk + j] * r[b0 + j];
        d0 *= tk;
        for (let j = k + 1; j < n; j++) r[b0 + j] -= d0 * w[rk + j];
      }
    }
  }
}

/** Overwrite the work copy with Q = H_0 H_1 … H_{n−3} (row-major), by backward accumulation. */
function formQ(t: Tridiagonal): Float64Array {
  const { n, work: w, tau } = t;
  const v = new Float64Array(n);
  const acc = new Float64Array(n);
  for (let i = Math.max(n - 2, 0); i < n; i++) {
    w.fill(0, i * n, (i + 1) * n);
    w[i * n + i] = 1;
  }
  for (let k = n - 3; k >= 0; k--) {
    const rk = k * n;
    for (let j = k + 1; j < n; j++) v[j] = w[rk + j];
    w.fill(0, rk, rk + n);
    w[rk + k] = 1;
    const tk = tau[k];
    if (tk === 0) continue;
    // Rows k+1 … n−1 hold Q_{k+1} (zero in columns ≤ k): Q ← (I − τ v vᵀ) Q.
    acc.fill(0, k + 1, n);
    for (let i = k + 1; i < n; i++) {
      const vi = v[i];
      if (vi === 0) continue;
      const ri = i * n;
      for (let j = k + 1; j < n; j++) acc[j] += vi * w[ri + j];
    }
    for (let i = k + 1; i < n; i++) {
      const f = tk * v[i];
      if (f === 0) continue;
      const ri = i * n;
      for (let j = k + 1; j < n; j++) w[ri + j] -= f * acc[j];
    }
  }
  return w;
}

// ---------------------------------------------------------------------------
// Step 2: implicit QL / QR on the tridiagonal matrix.

/** √(f² + g²) without the cost of Math.hypot in the common range. */
function pythag(f: number, g: number): number {
  const r = Math.sqrt(f * f + g * g);
  return r > 1e-150 && r < 1e150 ? r : Math.hypot(f, g);
}

/** |e| negligible next to the local diagonal: the deflation test. */
function negligible(e: number, d0: number, d1: number): boolean {
  const ae = Math.abs(e);
  return ae <= EPS * (Math.abs(d0) + Math.abs(d1)) || ae <= SAFMIN;
}

/**
 * QL sweep rotations i = hi−1 … lo, rotation i mixing columns i and i+1 of R:
 * (r_i, r_{i+1}) ← (c r_i − s r_{i+1}, s r_i + c r_{i+1}). Column i+1 is final
 * once rotation i is applied, so each row carries one running value; four
 * rows run side by side to hide the latency of that dependency chain.
 */
function rotateDown(r: Float64Array, p: number, n: number, cs: Float64Array, sn: Float64Array, lo: number, hi: number): void {
  if (hi <= lo) return;
  let row = 0;
  for (; row + 4 <= p; row += 4) {
    const b0 = row * n;
    const b1 = b0 + n;
    const b2 = b1 + n;
    const b3 = b2 + n;
    let x0 = r[b0 + hi];
    let x1 = r[b1 + hi];
    let x2 = r[b2 + hi];
    let x3 = r[b3 + hi];
    for (let i = hi - 1; i >= lo; i--) {
      const c = cs[i];
      const s = sn[i];
      const a0 = r[b0 + i];
      const a1 = r[b1 + i];
      const a2 = r[b2 + i];
      const a3 = r[b3 + i];
      r[b0 + i + 1] = s * a0 + c * x0;
      r[b1 + i + 1] = s * a1 + c * x1;
      r[b2 + i + 1] = s * a2 + c * x2;
      r[b3 + i + 1] = s * a3 + c * x3;
      x0 = c * a0 - s * x0;
      x1 = c * a1 - s * x1;
      x2 = c * a2 - s * x2;
      x3 = c * a3 - s * x3;
    }
    r[b0 + lo] = x0;
    r[b1 + lo] = x1;
    r[b2 + lo] = x2;
    r[b3 + lo] = x3;
  }
  for (; row < p; row++) {
    const b0 = row * n;
    let x0 = r[b0 + hi];
    for (let i = hi - 1; i >= lo; i--) {
      const c = cs[i];
      const s = sn[i];
      const a0 = r[b0 + i];
      r[b0 + i + 1] = s * a0 + c * x0;
      x0 = c * a0 - s * x0;
    }
    r[b0 + lo] = x0;
  }
}

/**
 * QR sweep rotations i = lo … hi−1, rotation i mixing columns i and i+1 of R:
 * (r_i, r_{i+1}) ← (s r_{i+1} + c r_i, c r_{i+1} − s r_i) — the mirror image of rotateDown.
 */
function rotateUp(r: Float64Array, p: number, n: number, cs: Float64Array, sn: Float64Array, lo: number, hi: number): void {
  if (hi <= lo) return;
  let row = 0;
  for (; row + 4 <= p; row += 4) {
    const b0 = row * n;
    const b1 = b0 + n;
    const b2 = b1 + n;
    const b3 = b2 + n;
    let x0 = r[b0 + lo];
    let x1 = r[b1 + lo];
    let x2 = r[b2 + lo];
    let x3 = r[b3 + lo];
    for (let i = lo; i < hi; i++) {
      const c = cs[i];
      const s = sn[i];
      const a0 = r[b0 + i + 1];
      const a1 = r[b1 + i + 1];
      const a2 = r[b2 + i + 1];
      const a3 = r[b3 + i + 1];
      r[b0 + i] = s * a0 + c * x0;
      r[b1 + i] = s * a1 + c * x1;
      r[b2 + i] = s * a2 + c * x2;
      r[b3 + i] = s * a3 + c * x3;
      x0 = c * a0 - s * x0;
      x1 = c * a1 - s * x1;
      x2 = c * a2 - s * x2;
      x3 = c * a3 - s * x3;
    }
    r[b0 + hi] = x0;
    r[b1 + hi] = x1;
    r[b2 + hi] = x2;
    r[b3 + hi] = x3;
  }
  for (; row < p; row++) {
    const b0 = row * n;
    let x0 = r[b0 + lo];
    for (let i = lo; i < hi; i++) {
      const c = cs[i];
      const s = sn[i];
      const a0 = r[b0 + i + 1];
      r[b0 + i] = s * a0 + c * x0;
      x0 = c * a0 - s * x0;
    }
    r[b0 + hi] = x0;
  }
}

/**
 * Diagonalise the symmetric tridiagonal (d, e) in place: on return d holds the
 * eigenvalues (unsorted) and e is zero. When `r` (p × n) is given, every
 * plane rotation G of the sweeps is applied as R ← R·G, so R ends as R·W with
 * W the eigenvector matrix of T (column i of W belongs to d[i]).
 *
 * Deflation: e_i is set to zero once |e_i| ≤ ε(|d_i| + |d_{i+1}|), a test
 * relative to the local diagonal, so small eigenvalues keep an absolute
 * accuracy of order ε‖T‖ (better on graded matrices).
 *
 * More than `maxSweeps` sweeps in total throws an Error: that is a bug, not
 * bad input. Exported for the tests only (not part of the linalg API).
 */
export function tridiagonalEigen(
  d: Float64Array,
  e: Float64Array,
  n: number,
  r: Float64Array | undefined,
  p: number,
  maxSweeps: number = MAX_SWEEPS_PER_VALUE * n,
): void {
  if (n <= 1) return;
  let rot: Rotator | undefined;
  if (r !== undefined) {
    const cs = new Float64Array(n);
    const sn = new Float64Array(n);
    rot = {
      cs,
      sn,
      down: (lo, hi) => rotateDown(r, p, n, cs, sn, lo, hi),
      up: (lo, hi) => rotateUp(r, p, n, cs, sn, lo, hi),
    };
  }
  implicitQL(d, e, n, rot, maxSweeps);
}

/** tridiagonalEigen with the rotations handed to `rot` (none when undefined). */
function implicitQL(d: Float64Array, e: Float64Array, n: number, rot: Rotator | undefined, maxSweeps: number = MAX_SWEEPS_PER_VALUE * n): void {
  if (n <= 1) return;
  const cs = rot?.cs ?? new Float64Array(n);
  const sn = rot?.sn ?? new Float64Array(n);
  let sweeps = 0;
  const fail = (): never => {
    throw new Error(
      `symmetric eigensolver: implicit QL/QR did not converge within ${maxSweeps} sweeps (n = ${n}). ` +
        'This is a bug in rank-models, not a problem with the input: please report it.',
    );
  };
  e[n - 1] = 0;
  let l0 = 0;
  while (l0 < n) {
    // The unreduced block [l0, lend].
    let lend = l0;
    while (lend < n - 1) {
      if (negligible(e[lend], d[lend], d[lend + 1])) {
        e[lend] = 0;
        break;
      }
      lend++;
    }
    if (lend === l0) {
      l0++;
      continue;
    }
    if (Math.abs(d[lend]) >= Math.abs(d[l0])) {
      // QL: deflate at the top of the block.
      for (let l = l0; l <= lend; l++) {
        for (;;) {
          let m = l;
          for (; m < lend; m++) {
            if (negligible(e[m], d[m], d[m + 1])) {
              e[m] = 0;
              break;
            }
          }
          if (m === l) break;
          if (++sweeps > maxSweeps) fail();
          // Wilkinson shift: the eigenvalue of the top 2 × 2 closer to d[l].
          let g = (d[l + 1] - d[l]) / (2 * e[l]);
          let rr = pythag(g, 1);
          g = d[m] - d[l] + e[l] / (g + (g >= 0 ? rr : -rr));
          let s = 1;
          let c = 1;
          let shift = 0;
          let i = m - 1;
          let underflow = false;
          for (; i >= l; i--) {
            const f = s * e[i];
            const b = c * e[i];
            rr = pythag(f, g);
            e[i + 1] = rr;
            if (rr === 0) {
              // Both f and g vanished: the rotation is undefined; deflate here and restart.
              d[i + 1] -= shift;
              e[m] = 0;
              underflow = true;
              break;
            }
            s = f / rr;
            c = g / rr;
            g = d[i + 1] - shift;
            rr = (d[i] - g) * s + 2 * c * b;
            shift = s * rr;
            d[i + 1] = g + shift;
            g = c * rr - b;
            cs[i] = c;
            sn[i] = s;
          }
          if (rot !== undefined && m > (underflow ? i + 1 : l)) rot.down(underflow ? i + 1 : l, m);
          if (underflow) continue;
          d[l] -= shift;
          e[l] = g;
          e[m] = 0;
        }
      }
    } else {
      // QR: the mirror image, deflating at the bottom of the block.
      for (let l = lend; l >= l0; l--) {
        for (;;) {
          let m = l;
          for (; m > l0; m--) {
            if (negligible(e[m - 1], d[m - 1], d[m])) {
              e[m - 1] = 0;
              break;
            }
          }
          if (m === l) break;
          if (++sweeps > maxSweeps) fail();
          let g = (d[l - 1] - d[l]) / (2 * e[l - 1]);
          let rr = pythag(g, 1);
          g = d[m] - d[l] + e[l - 1] / (g + (g >= 0 ? rr : -rr));
          let s = 1;
          let c = 1;
          let shift = 0;
          let i = m;
          let underflow = false;
          for (; i < l; i++) {
            const f = s * e[i];
            const b = c * e[i];
            rr = pythag(f, g);
            if (i > m) e[i - 1] = rr;
            if (rr === 0) {
              d[i] -= shift;
              underflow = true;
              break;
            }
            s = f / rr;
            c = g / rr;
            g = d[i] - shift;
            rr = (d[i + 1] - g) * s + 2 * c * b;
            shift = s * rr;
            d[i] = g + shift;
            g = c * rr - b;
            cs[i] = c;
            sn[i] = s;
          }
          if (rot !== undefined && (underflow ? i : l) > m) rot.up(m, underflow ? i : l);
          if (underflow) continue;
          d[l] -= shift;
          e[l - 1] = g;
        }
      }
    }
    l0 = lend + 1;
  }
}

/** Indices of d sorted by value, descending; ties by index (stable, deterministic). */
function descendingOrder(d: Float64Array): Int32Array {
  const idx = new Int32Array(d.length);
  for (let i = 0; i < idx.length; i++) idx[i] = i;
  idx.sort((a, b) => (d[b] - d[a]) || a - b);
  return idx;
}

function sortedValues(d: Float64Array, order: Int32Array, scale: number): Float64Array {
  const values = new Float64Array(d.length);
  for (let j = 0; j < order.length; j++) values[j] = d[order[j]] / scale;
  return values;
}

// ---------------------------------------------------------------------------
// Public API.

/**
 * Eigenvalues of the symmetric n × n matrix A (row-major; upper triangle
 * read), descending, and the projections Vᵀ B of the n × k matrix B
 * (row-major) on its eigenvectors — computed without forming V: B is carried
 * through the Householder reflectors and the QL/QR rotations.
 *
 * `projected` is n × k row-major; row j is the projection on the eigenvector
 * of values[j]. Each row's sign depends on the (arbitrary) sign of that
 * eigenvector. `k` defaults to B.length / n.
 *
 * Cost: ~(4/3)n³ for the reduction, 2n²k for the reflectors, ~6n²k for the
 * rotations. Allocates one n × n work array and one k × n copy of B.
 */
export function symEigProject(a: Float64Array, n: number, b?: Float64Array, k?: number): EigenProjection {
  const who = 'symEigProject';
  checkSquare(a, n, who);
  let kk = 0;
  if (b !== undefined) {
    kk = k ?? (n > 0 ? b.length / n : 0);
    if (!Number.isInteger(kk) || kk < 0) throw new RangeError(`${who}: k must be a non-negative integer, got ${kk}`);
    if (b.length !== n * kk) throw new RangeError(`${who}: B has ${b.length} values, expected ${n} × ${kk} = ${n * kk}`);
  }
  const kern = wasmKernelsFor(n);
  if (kern !== null) {
    const res = tryWasm(() => projectWasm(kern, a, n, b, kk, who));
    if (res !== undefined) return res;
  }
  const t = tridiagonalizeJs(a, n, who);
  let r: Float64Array | undefined;
  if (b !== undefined && kk > 0) {
    // R = Bᵀ (k × n): each target becomes one contiguous row, so reflectors
    // and rotations stream along rows.
    r = new Float64Array(kk * n);
    for (let i = 0; i < n; i++) for (let c = 0; c < kk; c++) r[c * n + i] = b[i * kk + c];
    applyReflectors(t, r, kk, true);
  }
  tridiagonalEigen(t.d, t.e, n, r, kk);
  const order = descendingOrder(t.d);
  const values = sortedValues(t.d, order, t.scale);
  if (b === undefined) return { values, projected: undefined };
  const projected = new Float64Array(n * kk);
  if (r !== undefined) {
    for (let j = 0; j < n; j++) {
      const src = order[j];
      for (let c = 0; c < kk; c++) projected[j * kk + c] = r[c * n + src];
    }
  }
  return { values, projected };
}

/** symEigProject on the WebAssembly kernels: blocked reduction, reflectors applied to B in blocks, SIMD rotations. */
function projectWasm(kern: EigenKernels, a: Float64Array, n: number, b: Float64Array | undefined, kk: number, who: string): EigenProjection {
  const scale = scaleOf(a, n, who);
  const t = new WasmTridiagonal(kern, a, n, scale);
  try {
    const proj = b !== undefined && kk > 0 ? t.project(b, kk) : undefined;
    implicitQL(t.d, t.e, n, proj?.rotator);
    proj?.rotator.finish?.();
    const order = descendingOrder(t.d);
    const values = sortedValues(t.d, order, scale);
    if (b === undefined) return { values, projected: undefined };
    return { values, projected: proj !== undefined ? proj.read(order) : new Float64Array(n * kk) };
  } finally {
    t.release();
  }
}

/**
 * Eigenvalues of the symmetric n × n matrix A (row-major; upper triangle
 * read), descending, and optionally the m = `opts.vectors` leading
 * eigenvectors as an n × m row-major matrix (column j is the unit eigenvector
 * of values[j]). Each vector's sign is fixed so that its entry of largest
 * magnitude (the first such, on ties) is positive.
 */
export function symEig(a: Float64Array, n: number, opts: SymEigOptions = {}): EigenDecomposition {
  const who = 'symEig';
  checkSquare(a, n, who);
  const m = opts.vectors ?? 0;
  if (!Number.isInteger(m) || m < 0 || m > n) throw new RangeError(`${who}: vectors must be an integer in 0..${n}, got ${m}`);
  const method = opts.method ?? 'auto';
  const t = tridiagonalize(a, n, who);
  if (m === 0) {
    tridiagonalEigen(t.d, t.e, n, undefined, 0);
    const order = descendingOrder(t.d);
    return { values: sortedValues(t.d, order, t.scale), vectors: undefined };
  }
  const useInverse = method === 'inverse' || (method === 'auto' && n > 16 && 2 * m <= n);
  if (useInverse) {
    const res = leadingByInverseIteration(t, m);
    if (res !== undefined) return res;
  }
  return allByAccumulation(t, m);
}

/** Leading m eigenvectors from QL with the rotations accumulated into Q (O(n³)). */
function allByAccumulation(t: Tridiagonal, m: number): EigenDecomposition {
  const { n } = t;
  const d = Float64Array.from(t.d);
  const e = Float64Array.from(t.e);
  const q = formQ(t);
  tridiagonalEigen(d, e, n, q, n);
  const order = descendingOrder(d);
  const vectors = new Float64Array(n * m);
  for (let j = 0; j < m; j++) {
    const col = order[j];
    for (let i = 0; i < n; i++) vectors[i * m + j] = q[i * n + col];
  }
  fixSigns(vectors, n, m);
  return { values: sortedValues(d, order, t.scale), vectors };
}

/** Flip each column so that its entry of largest magnitude is positive. */
function fixSigns(v: Float64Array, n: number, m: number): void {
  for (let j = 0; j < m; j++) {
    let best = 0;
    let arg = 0;
    for (let i = 0; i < n; i++) {
      const x = Math.abs(v[i * m + j]);
      if (x > best) {
        best = x;
        arg = i;
      }
    }
    if (v[arg * m + j] < 0) for (let i = 0; i < n; i++) v[i * m + j] = -v[i * m + j];
  }
}

// ---------------------------------------------------------------------------
// Inverse iteration for a few eigenvectors of T.

/** Inverse-iteration steps before giving up on a vector (LAPACK's dstein uses 5). */
const MAX_INVERSE_STEPS = 5;
/** Steps after the growth test first passes (dstein: 2). */
const EXTRA_INVERSE_STEPS = 2;
/** Eigenvalues closer than this fraction of ‖T_block‖₁ are a cluster: their vectors are re-orthogonalised at every step. */
const CLUSTER_GAP = 1e-3;

/** LU factors of T_b − λI with partial pivoting (row swaps between neighbours only). */
interface TridiagLU {
  u0: Float64Array; // pivots
  u1: Float64Array; // first superdiagonal of U
  u2: Float64Array; // second superdiagonal of U (fill-in from swaps)
  mult: Float64Array; // multipliers
  swap: Uint8Array;
}

function factorShifted(d: Float64Array, e: Float64Array, b0: number, nb: number, lambda: number, lu: TridiagLU): void {
  const { u0, u1, u2, mult, swap } = lu;
  // Current row i holds (p, q) in columns i, i+1 (anything right of that is zero).
  let p = d[b0] - lambda;
  let q = nb > 1 ? e[b0] : 0;
  for (let i = 0; i < nb - 1; i++) {
    const s = e[b0 + i]; // T[i+1, i]
    const an = d[b0 + i + 1] - lambda;
    const bn = i + 2 < nb ? e[b0 + i + 1] : 0;
    if (Math.abs(p) >= Math.abs(s)) {
      swap[i] = 0;
      const l = p === 0 ? 0 : s / p;
      u0[i] = p;
      u1[i] = q;
      u2[i] = 0;
      mult[i] = l;
      p = an - l * q;
      q = bn;
    } else {
      swap[i] = 1;
      const l = p / s;
      u0[i] = s;
      u1[i] = an;
      u2[i] = bn;
      mult[i] = l;
      p = q - l * an;
      q = -l * bn;
    }
  }
  u0[nb - 1] = p;
}

/** Solve (T_b − λI) x = y in place in y[off … off+nb−1]; pivots smaller than `tol` are replaced by ±tol. */
function solveShifted(lu: TridiagLU, nb: number, y: Float64Array, off: number, tol: number): void {
  const { u0, u1, u2, mult, swap } = lu;
  for (let i = 0; i < nb - 1; i++) {
    if (swap[i] === 1) {
      const tmp = y[off + i];
      y[off + i] = y[off + i + 1];
      y[off + i + 1] = tmp;
    }
    y[off + i + 1] -= mult[i] * y[off + i];
  }
  for (let i = nb - 1; i >= 0; i--) {
    let piv = u0[i];
    if (Math.abs(piv) < tol) piv = piv < 0 ? -tol : tol;
    let s = y[off + i];
    if (i + 1 < nb) s -= u1[i] * y[off + i + 1];
    if (i + 2 < nb) s -= u2[i] * y[off + i + 2];
    y[off + i] = s / piv;
  }
}

/** Deterministic start vectors (a fixed linear congruential sequence in (−1, 1)). */
function startVector(x: Float64Array, off: number, nb: number, seed: number): void {
  let s = (seed * 2654435761 + 12345) >>> 0;
  for (let i = 0; i < nb; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    x[off + i] = s / 2147483648 - 1;
  }
}

function norm2(x: Float64Array, off: number, nb: number): number {
  let s = 0;
  for (let i = 0; i < nb; i++) s += x[off + i] * x[off + i];
  return Math.sqrt(s);
}

/** x ← x − Σ_j (x·w_j) w_j over the given rows of W (modified Gram–Schmidt), restricted to the block. */
function orthogonalize(x: Float64Array, xOff: number, w: Float64Array, n: number, rows: Int32Array, from: number, to: number, b0: number, nb: number): void {
  for (let q = from; q < to; q++) {
    const wOff = rows[q] * n + b0;
    let dot = 0;
    for (let i = 0; i < nb; i++) dot += x[xOff + i] * w[wOff + i];
    if (dot === 0) continue;
    for (let i = 0; i < nb; i++) x[xOff + i] -= dot * w[wOff + i];
  }
}

/** ‖(T_b − λI) x‖₂ for x = w[off … off+nb−1]. */
function residual(d: Float64Array, e: Float64Array, b0: number, nb: number, lambda: number, x: Float64Array, off: number): number {
  let s = 0;
  for (let i = 0; i < nb; i++) {
    let v = (d[b0 + i] - lambda) * x[off + i];
    if (i > 0) v += e[b0 + i - 1] * x[off + i - 1];
    if (i + 1 < nb) v += e[b0 + i] * x[off + i + 1];
    s += v * v;
  }
  return Math.sqrt(s);
}

/**
 * The m leading eigenpairs via eigenvalues of T (QL, no vectors), inverse
 * iteration on T's unreduced blocks, and back-transformation by the
 * reflectors. Returns undefined when a vector fails its residual check (the
 * caller then accumulates rotations instead).
 */
function leadingByInverseIteration(t: Tridiagonal, m: number): EigenDecomposition | undefined {
  const { n } = t;
  const d = t.d;
  const e = t.e;
  // Split T once, with the same test the QL sweeps use, so both see the same blocks.
  e[n - 1] = 0;
  for (let i = 0; i < n - 1; i++) if (negligible(e[i], d[i], d[i + 1])) e[i] = 0;
  const blockStart = new Int32Array(n);
  for (let i = 1; i < n; i++) blockStart[i] = e[i - 1] === 0 ? i : blockStart[i - 1];
  const blockEnd = new Int32Array(n); // exclusive
  blockEnd[n - 1] = n;
  for (let i = n - 2; i >= 0; i--) blockEnd[i] = e[i] === 0 ? i + 1 : blockEnd[i + 1];

  const lam = Float64Array.from(d);
  tridiagonalEigen(lam, Float64Array.from(e), n, undefined, 0);
  // QL keeps every eigenvalue inside the block it came from, so position = block.
  const order = descendingOrder(lam);

  const w = new Float64Array(m * n); // row j: eigenvector j of T (zero outside its block)
  // Selected eigenvalues grouped by block, each group in descending order.
  const byBlock = new Map<number, number[]>();
  for (let j = 0; j < m; j++) {
    const b0 = blockStart[order[j]];
    let list = byBlock.get(b0);
    if (list === undefined) byBlock.set(b0, (list = []));
    list.push(j);
  }
  const lu: TridiagLU = {
    u0: new Float64Array(n),
    u1: new Float64Array(n),
    u2: new Float64Array(n),
    mult: new Float64Array(n),
    swap: new Uint8Array(n),
  };
  const x = new Float64Array(n);
  for (const [b0, list] of byBlock) {
    const nb = blockEnd[b0] - b0;
    if (nb === 1) {
      w[list[0] * n + b0] = 1;
      continue;
    }
    let onenrm = 0;
    for (let i = b0; i < b0 + nb; i++) {
      const s = Math.abs(d[i]) + (i > b0 ? Math.abs(e[i - 1]) : 0) + (i < b0 + nb - 1 ? Math.abs(e[i]) : 0);
      if (s > onenrm) onenrm = s;
    }
    const tol = EPS * onenrm;
    const ortol = CLUSTER_GAP * onenrm;
    const growthNeeded = 1 / (10 * Math.sqrt(nb) * tol);
    const resTol = 64 * Math.sqrt(nb) * tol;
    const rows = Int32Array.from(list);
    let clusterStart = 0;
    let prev = 0;
    for (let q = 0; q < rows.length; q++) {
      const j = rows[q];
      const exact = lam[order[j]];
      let shift = exact;
      if (q > 0) {
        if (prev - shift > ortol) clusterStart = q;
        // Coincident shifts would give identical factors: separate them slightly.
        const pertol = 10 * EPS * Math.max(Math.abs(shift), tol);
        if (prev - shift < pertol) shift = prev - pertol;
      }
      prev = shift;
      factorShifted(d, e, b0, nb, shift, lu);
      startVector(x, 0, nb, j + 1);
      let nrm = norm2(x, 0, nb);
      for (let i = 0; i < nb; i++) x[i] /= nrm;
      let converged = false;
      let extra = 0;
      for (let step = 0; ; step++) {
        solveShifted(lu, nb, x, 0, tol);
        orthogonalize(x, 0, w, n, rows, clusterStart, q, b0, nb);
        nrm = norm2(x, 0, nb);
        if (!(nrm > 0 && nrm < Infinity)) return undefined;
        for (let i = 0; i < nb; i++) x[i] /= nrm;
        if (converged) {
          if (++extra >= EXTRA_INVERSE_STEPS) break;
        } else if (nrm >= growthNeeded) {
          converged = true;
        } else if (step + 1 >= MAX_INVERSE_STEPS) {
          return undefined;
        }
      }
      // A final sweep against every earlier vector of the block keeps vectors of
      // different clusters orthogonal to rounding level, not just to res/gap.
      orthogonalize(x, 0, w, n, rows, 0, q, b0, nb);
      orthogonalize(x, 0, w, n, rows, 0, q, b0, nb);
      nrm = norm2(x, 0, nb);
      const off = j * n + b0;
      for (let i = 0; i < nb; i++) w[off + i] = x[i] / nrm;
      if (!(residual(d, e, b0, nb, exact, w, off) <= resTol)) return undefined;
    }
  }
  applyReflectors(t, w, m, false);
  const vectors = new Float64Array(n * m);
  for (let j = 0; j < m; j++) for (let i = 0; i < n; i++) vectors[i * m + j] = w[j * n + i];
  fixSigns(vectors, n, m);
  return { values: sortedValues(lam, order, t.scale), vectors };
}

// ---------------------------------------------------------------------------
// One reduction, many questions.

/**
 * The spectrum of one symmetric matrix, reduced to tridiagonal form once and
 * then asked, as often as needed, for its eigenvalues, the projection VᵀB of
 * any n × k matrix B on all eigenvectors (carried through the reflectors and
 * rotations, O(n²k)), and its leading m eigenvectors (inverse iteration and
 * back-transformation, O(n²m)) — so scorers that share a matrix share its
 * O(n³) reduction (docs/scorers.md, "Shared work"). Holds WebAssembly memory
 * until release().
 */
export class SymSpectrum {
  /** Eigenvalues, descending. */
  readonly values: Float64Array;
  private readonly order: Int32Array;
  private wasm: WasmTridiagonal | undefined;
  private js: Tridiagonal | undefined;
  private vectorCache: { m: number; vectors: Float64Array } | undefined;
  private readonly scale: number;

  constructor(a: Float64Array, readonly n: number) {
    const who = 'symSpectrum';
    checkSquare(a, n, who);
    const kern = wasmKernelsFor(n);
    const scale = scaleOf(a, n, who);
    this.scale = scale;
    if (kern !== null) this.wasm = tryWasm(() => new WasmTridiagonal(kern, a, n, scale));
    if (this.wasm === undefined) this.js = tridiagonalizeJs(a, n, who);
    const t = this.wasm ?? this.js!;
    const d = Float64Array.from(t.d);
    implicitQL(d, Float64Array.from(t.e), n, undefined);
    this.order = descendingOrder(d);
    this.values = sortedValues(d, this.order, scale);
  }

  /** VᵀB (n × k row-major, row j for values[j]) for the n × k row-major B. */
  project(b: Float64Array, k: number): Float64Array {
    const { n } = this;
    if (b.length !== n * k) throw new RangeError(`SymSpectrum.project: B has ${b.length} values, expected ${n} × ${k}`);
    if (k === 0 || n === 0) return new Float64Array(n * k);
    if (this.wasm !== undefined) {
      const proj = this.wasm.project(b, k);
      const d = Float64Array.from(this.wasm.d);
      implicitQL(d, Float64Array.from(this.wasm.e), n, proj.rotator);
      proj.rotator.finish?.();
      return proj.read(descendingOrder(d));
    }
    const t = this.js!;
    const r = new Float64Array(k * n);
    for (let i = 0; i < n; i++) for (let c = 0; c < k; c++) r[c * n + i] = b[i * k + c];
    applyReflectors(t, r, k, true);
    const d = Float64Array.from(t.d);
    tridiagonalEigen(d, Float64Array.from(t.e), n, r, k);
    const order = descendingOrder(d);
    const out = new Float64Array(n * k);
    for (let j = 0; j < n; j++) {
      const src = order[j];
      for (let c = 0; c < k; c++) out[j * k + c] = r[c * n + src];
    }
    return out;
  }

  /** The m leading unit eigenvectors, n × m row-major (column j for values[j]; signs as symEig fixes them). */
  vectors(m: number): Float64Array {
    const { n } = this;
    if (!Number.isInteger(m) || m < 0 || m > n) throw new RangeError(`SymSpectrum.vectors: m must be an integer in 0..${n}, got ${m}`);
    const cached = this.vectorCache;
    if (cached !== undefined && cached.m >= m) {
      if (cached.m === m) return cached.vectors;
      const out = new Float64Array(n * m);
      for (let i = 0; i < n; i++) out.set(cached.vectors.subarray(i * cached.m, i * cached.m + m), i * m);
      return out;
    }
    const base = this.js ?? this.fromWasm();
    // Inverse iteration splits T in place: give it copies.
    const t: Tridiagonal = { ...base, d: Float64Array.from(base.d), e: Float64Array.from(base.e) };
    const res = (n > 16 && 2 * m <= n ? leadingByInverseIteration(t, m) : undefined) ?? allByAccumulation({ ...base, d: Float64Array.from(base.d), e: Float64Array.from(base.e) }, m);
    this.vectorCache = { m, vectors: res.vectors! };
    return res.vectors!;
  }

  private fromWasm(): Tridiagonal {
    const w = this.wasm!;
    this.js = { n: this.n, work: w.workToJs(), tau: w.tau, d: w.d, e: w.e, scale: this.scale };
    return this.js;
  }

  release(): void {
    this.wasm?.release();
    this.wasm = undefined;
  }
}

// ---------------------------------------------------------------------------
// Test hooks (not part of the package API).

export const eigenTestHooks = {
  /**
   * The tridiagonal form (d, e, τ, in the scaled units) by the TypeScript
   * reduction ('js') or the blocked WebAssembly one ('wasm', panels of `nb`;
   * undefined when WebAssembly is unavailable).
   */
  tridiagonal(a: Float64Array, n: number, mode: 'js' | 'wasm', nb: number = TRIDIAG_BLOCK): { d: Float64Array; e: Float64Array; tau: Float64Array; work: Float64Array } | undefined {
    if (mode === 'js') {
      const t = tridiagonalizeJs(a, n, 'test');
      return { d: t.d, e: t.e, tau: t.tau, work: t.work };
    }
    const kern = eigenKernels();
    if (kern === null) return undefined;
    const t = new WasmTridiagonal(kern, a, n, scaleOf(a, n, 'test'), nb);
    try {
      return { d: t.d, e: t.e, tau: t.tau, work: t.workToJs() };
    } finally {
      t.release();
    }
  },
};
