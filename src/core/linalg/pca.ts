/**
 * Exact, deterministic PCA of centred features (specs/disco.md §1.1 steps
 * 1–2 and §5): the smaller centred Gram matrix — Xcᵀ Xc (D ≤ N) or Xc Xcᵀ —
 * built from explicitly centred row or column blocks (FᵀF − Nμμᵀ loses the
 * small eigenvalues to cancellation once the features carry an offset),
 * eigen-decomposed once, and the leading k component scores Z (N × k). No full
 * centred copy of F and no N × D matrix of singular vectors is formed.
 */
import { ScorerError } from '../errors.js';
import type { FloatArray, Matrix } from '../types.js';
import { createGramAccumulator, gramCounter, gramRows } from './gram.js';
import { symEig } from './eigen.js';

/**
 * Numerically-zero eigenvalue of a Gram matrix: λ_j ≤ λ_1·max(N, D)·ZERO_CUT
 * (the "robust cut" of specs/scorers.md §1.4, shared by LogME and the PCA).
 */
export const ZERO_CUT = 2.2e-16;

/** Float64 values per centred chunk of rows (16 MiB). */
const CHUNK_VALUES = 1 << 21;
/** Rows per block and columns per tile in the projection Z = Xc V. */
const PROJ_ROWS = 64;
const PROJ_TILE = 256;

export interface Pca {
  /** N × k row-major scores Z = Xc V_k (numerically-zero components set to 0). */
  readonly z: Float64Array;
  readonly k: number;
  /** σ_j = ‖Z[:, j]‖. */
  readonly sigma: Float64Array;
  /** trace(Xcᵀ Xc) = Σ_j ‖Xc[:, j]‖². */
  readonly trace: number;
}

/** Column means; throws on NaN/±Inf (a non-finite value makes its column sum non-finite). */
function columnMeans(f: Matrix): Float64Array {
  const { data, rows: n, cols: d } = f;
  const mu = new Float64Array(d);
  for (let i = 0; i < n; i++) {
    const o = i * d;
    for (let j = 0; j < d; j++) mu[j] += data[o + j];
  }
  for (let j = 0; j < d; j++) {
    if (!Number.isFinite(mu[j])) throw new ScorerError(`features must be finite (column ${j} has a NaN or an infinite value)`);
    mu[j] /= n;
  }
  return mu;
}

/** out[(i − r0)·d + j] = F[i, j] − μ_j for rows r0 … r0 + len − 1. */
function centreRows(data: FloatArray, d: number, mu: Float64Array, r0: number, len: number, out: Float64Array): void {
  for (let i = 0; i < len; i++) {
    const src = (r0 + i) * d;
    const dst = i * d;
    for (let j = 0; j < d; j++) out[dst + j] = data[src + j] - mu[j];
  }
}

/**
 * Xcᵀ Xc (D × D) from explicitly centred chunks of rows: no N × D copy, and
 * none of the cancellation of FᵀF − N μ μᵀ on offset features.
 */
export function centredGramCols(f: Matrix, mu: Float64Array): Float64Array {
  const { data, rows: n, cols: d } = f;
  const chunkRows = Math.min(n, Math.max(256, Math.floor(CHUNK_VALUES / d / 256) * 256));
  const buf = new Float64Array(chunkRows * d);
  const acc = createGramAccumulator(d, 'centred FtF');
  for (let r0 = 0; r0 < n; r0 += chunkRows) {
    const len = Math.min(chunkRows, n - r0);
    centreRows(data, d, mu, r0, len, buf);
    acc.add({ data: len === chunkRows ? buf : buf.subarray(0, len * d), rows: len, cols: d });
  }
  return acc.result();
}

/** Xc Xcᵀ (N × N), summed over centred blocks of columns. */
export function centredGramRows(f: Matrix, mu: Float64Array): Float64Array {
  const { data, rows: n, cols: d } = f;
  const width = Math.min(d, Math.max(4, Math.floor(CHUNK_VALUES / n)));
  const block = new Float64Array(n * width);
  let total: Float64Array | undefined;
  for (let c0 = 0; c0 < d; c0 += width) {
    const w = Math.min(width, d - c0);
    for (let i = 0; i < n; i++) {
      const src = i * d + c0;
      const dst = i * w;
      for (let j = 0; j < w; j++) block[dst + j] = data[src + j] - mu[c0 + j];
    }
    // The column blocks add up to one Gram: counted once, below.
    const g = gramRows({ data: w === width ? block : block.subarray(0, n * w), rows: n, cols: w }, null);
    if (total === undefined) total = g;
    else for (let q = 0; q < g.length; q++) total[q] += g[q];
  }
  gramCounter.note('centred FFt');
  return total ?? new Float64Array(n * n);
}

/**
 * Z = Xc V (N × k) for V = the leading k eigenvectors (D × k row-major),
 * centring rows on the fly. Blocks of PROJ_ROWS rows × tiles of PROJ_TILE
 * columns of Xc keep both operands in cache; a 4 × 4 register block of Z
 * takes 8 loads per 16 multiply-adds.
 */
export function projectCentred(f: Matrix, mu: Float64Array, v: Float64Array, k: number): Float64Array {
  const { data, rows: n, cols: d } = f;
  const kp = (k + 3) & ~3;
  // Vᵀ, zero-padded to kp rows: row c holds eigenvector c.
  const vt = new Float64Array(kp * d);
  for (let j = 0; j < d; j++) for (let c = 0; c < k; c++) vt[c * d + j] = v[j * k + c];
  const z = new Float64Array(n * k);
  const xb = new Float64Array(PROJ_ROWS * d); // centred rows; rows past the block's end stay zero
  const acc = new Float64Array(PROJ_ROWS * kp);
  for (let r0 = 0; r0 < n; r0 += PROJ_ROWS) {
    const len = Math.min(PROJ_ROWS, n - r0);
    centreRows(data, d, mu, r0, len, xb);
    if (len < PROJ_ROWS) xb.fill(0, len * d);
    const rowsP = (len + 3) & ~3;
    acc.fill(0);
    for (let t0 = 0; t0 < d; t0 += PROJ_TILE) {
      const t1 = Math.min(t0 + PROJ_TILE, d);
      for (let i = 0; i < rowsP; i += 4) {
        const a0 = i * d;
        const a1 = a0 + d;
        const a2 = a1 + d;
        const a3 = a2 + d;
        for (let c = 0; c < kp; c += 4) {
          const b0 = c * d;
          const b1 = b0 + d;
          const b2 = b1 + d;
          const b3 = b2 + d;
          let c00 = 0, c01 = 0, c02 = 0, c03 = 0;
          let c10 = 0, c11 = 0, c12 = 0, c13 = 0;
          let c20 = 0, c21 = 0, c22 = 0, c23 = 0;
          let c30 = 0, c31 = 0, c32 = 0, c33 = 0;
          for (let t = t0; t < t1; t++) {
            const y0 = vt[b0 + t];
            const y1 = vt[b1 + t];
            const y2 = vt[b2 + t];
            const y3 = vt[b3 + t];
            let x = xb[a0 + t];
            c00 += x * y0;
            c01 += x * y1;
            c02 += x * y2;
            c03 += x * y3;
            x = xb[a1 + t];
            c10 += x * y0;
            c11 += x * y1;
            c12 += x * y2;
            c13 += x * y3;
            x = xb[a2 + t];
            c20 += x * y0;
            c21 += x * y1;
            c22 += x * y2;
            c23 += x * y3;
            x = xb[a3 + t];
            c30 += x * y0;
            c31 += x * y1;
            c32 += x * y2;
            c33 += x * y3;
          }
          let o = i * kp + c;
          acc[o] += c00;
          acc[o + 1] += c01;
          acc[o + 2] += c02;
          acc[o + 3] += c03;
          o += kp;
          acc[o] += c10;
          acc[o + 1] += c11;
          acc[o + 2] += c12;
          acc[o + 3] += c13;
          o += kp;
          acc[o] += c20;
          acc[o + 1] += c21;
          acc[o + 2] += c22;
          acc[o + 3] += c23;
          o += kp;
          acc[o] += c30;
          acc[o + 1] += c31;
          acc[o + 2] += c32;
          acc[o + 3] += c33;
        }
      }
    }
    for (let i = 0; i < len; i++) z.set(acc.subarray(i * kp, i * kp + k), (r0 + i) * k);
  }
  return z;
}

/**
 * Exact PCA scores (specs/disco.md §1.1 steps 1–2, §5): eigen-decompose the
 * smaller centred Gram matrix, keep k = min(components, N, D) components.
 * D ≤ N: Z = Xc V_k; N < D: Z = U_k·√λ_k (U from Xc Xcᵀ).
 */
export function centredPca(f: Matrix, components: number): Pca {
  const { rows: n, cols: d } = f;
  const k = Math.min(components, n, d);
  const mu = columnMeans(f);
  const byCols = d <= n;
  const gram = byCols ? centredGramCols(f, mu) : centredGramRows(f, mu);
  const size = byCols ? d : n;
  let trace = 0;
  for (let i = 0; i < size; i++) trace += gram[i * size + i];
  const { values, vectors } = symEig(gram, size, { vectors: k });
  const lambda1 = values[0];
  if (!(lambda1 > 0)) throw new ScorerError('the features have zero variance (every column is constant)');
  const cut = lambda1 * Math.max(n, d) * ZERO_CUT;
  let z: Float64Array;
  if (byCols) {
    z = projectCentred(f, mu, vectors!, k);
  } else {
    z = new Float64Array(n * k);
    const u = vectors!;
    for (let c = 0; c < k; c++) {
      const s = values[c] > cut ? Math.sqrt(values[c]) : 0;
      for (let i = 0; i < n; i++) z[i * k + c] = u[i * k + c] * s;
    }
  }
  // Numerically-zero components are exactly 0 (their value for centred, rank-deficient data).
  let zeroFrom = k;
  while (zeroFrom > 0 && !(values[zeroFrom - 1] > cut)) zeroFrom--;
  if (zeroFrom < k) {
    for (let i = 0; i < n; i++) z.fill(0, i * k + zeroFrom, (i + 1) * k);
  }
  const sigma = new Float64Array(k);
  for (let i = 0; i < n; i++) {
    const o = i * k;
    for (let c = 0; c < k; c++) sigma[c] += z[o + c] * z[o + c];
  }
  for (let c = 0; c < k; c++) sigma[c] = Math.sqrt(sigma[c]);
  return { z, k, sigma, trace };
}
