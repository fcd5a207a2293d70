/**
 * The one decomposition LogME needs (specs/scorers.md §1.3): the non-zero
 * eigenvalues σ_i of FᵀF and, for every target column t, the coordinates
 * x = Uᵀ t on the left singular vectors of F, plus ‖t‖².
 *
 * The smaller Gram matrix is decomposed: FᵀF (D × D) when N > D, F Fᵀ (N × N)
 * otherwise. Eigenvectors are never formed: the targets are carried through
 * the Householder reflections and QL rotations instead (symEigProject), which
 * is O(n²·K) rather than the O(n³) of accumulating V.
 */
import { ZERO_CUT, gramCols, gramRows, symEigProject } from './linalg/index.js';
import type { FeatureSummary } from './summary.js';
import type { Matrix, Targets } from './types.js';

export interface SpectralProjection {
  readonly n: number;
  readonly d: number;
  /** Kept eigenvalues of FᵀF (σ_i = s_i²), descending, length k. */
  readonly sigma: Float64Array;
  /** Number of target columns K (C one-hot columns for classification). */
  readonly numTargets: number;
  /** x[i * K + c] = (Uᵀ t_c)_i for the kept directions i < k. */
  readonly x: Float64Array;
  /** ‖t_c‖² for every target column. */
  readonly tNorm2: Float64Array;
}


function targetColumns(t: Targets): { numTargets: number; tNorm2: Float64Array } {
  if (t.type === 'classification') {
    const tNorm2 = Float64Array.from(t.counts);
    return { numTargets: t.numClasses, tNorm2 };
  }
  const tNorm2 = new Float64Array(t.k);
  for (let i = 0; i < t.n; i++) {
    for (let c = 0; c < t.k; c++) {
      const v = t.values[i * t.k + c];
      tNorm2[c] += v * v;
    }
  }
  return { numTargets: t.k, tNorm2 };
}

/** N × K target matrix: one-hot columns for classes, the values otherwise. */
function targetMatrix(t: Targets): Float64Array {
  if (t.type !== 'classification') return t.values;
  const n = t.labels.length;
  const c = t.numClasses;
  const y = new Float64Array(n * c);
  for (let i = 0; i < n; i++) y[i * c + t.labels[i]] = 1;
  return y;
}

/**
 * `summary` supplies FᵀT (and FᵀF when it was accumulated while streaming);
 * `gram` is the smaller Gram when the caller has it (the model context derives
 * it from the centred one); otherwise it is built from `f`.
 */
export function spectralProjection(f: Matrix | null, summary: FeatureSummary, t: Targets, gram: Float64Array | null = null): SpectralProjection {
  const { rows: n, cols: d } = summary;
  const { numTargets, tNorm2 } = targetColumns(t);

  if (n > d) {
    const g = gram ?? summary.gram ?? gramCols(f!);
    const { values, projected } = symEigProject(g, d, summary.targetProducts, numTargets);
    const p = projected!;
    const cut = Math.max(values[0], 0) * Math.max(n, d) * ZERO_CUT;
    let k = 0;
    while (k < d && values[k] > cut) k++;
    const sigma = values.slice(0, k);
    // x_i = (Vᵀ Fᵀ t)_i / s_i, since U = F V diag(1/s).
    const x = new Float64Array(k * numTargets);
    for (let i = 0; i < k; i++) {
      const inv = 1 / Math.sqrt(sigma[i]);
      for (let c = 0; c < numTargets; c++) x[i * numTargets + c] = p[i * numTargets + c] * inv;
    }
    return { n, d, sigma, numTargets, x, tNorm2 };
  }

  // N ≤ D: eigenvectors of F Fᵀ are U directly; keep all N directions (k = N),
  // clipping rounding-level negative eigenvalues to 0 (specs/scorers.md §0, §1.4).
  const kk = gram ?? gramRows(f!);
  const { values, projected } = symEigProject(kk, n, targetMatrix(t), numTargets);
  const sigma = values.map((v) => (v > 0 ? v : 0));
  return { n, d, sigma, numTargets, x: projected!, tNorm2 };
}
