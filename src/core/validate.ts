/**
 * Checks on inputs before any scorer runs (specs/cli.md §3), and the label
 * re-coding of specs/scorers.md §0. Hand-written loops over typed arrays: these
 * run on every value of every feature matrix, so no per-element allocation.
 */
import { InputError, UsageError } from './errors.js';
import type { FeatureSummary } from './summary.js';
import type { ClassTargets, FloatArray, LoadedArray, Matrix, NdArray, TaskType, Targets, ValueTargets } from './types.js';

export type TaskOption = TaskType | 'auto';

function isIntegral(data: FloatArray): boolean {
  for (let i = 0; i < data.length; i++) {
    const v = data[i];
    if (v !== Math.floor(v)) return false;
  }
  return true;
}

function isZeroOne(data: FloatArray): boolean {
  for (let i = 0; i < data.length; i++) {
    const v = data[i];
    if (v !== 0 && v !== 1) return false;
  }
  return true;
}

/** Position of the first NaN/±Inf, or -1. */
export function firstNonFinite(data: FloatArray): number {
  for (let i = 0; i < data.length; i++) {
    const v = data[i];
    // v - v is NaN exactly for NaN and ±Inf: one comparison per element.
    if (v - v !== 0) return i;
  }
  return -1;
}

function describe(v: number): string {
  return Number.isNaN(v) ? 'NaN' : v > 0 ? 'Inf' : '-Inf';
}

/** Throws an InputError naming the row and column of the first NaN/Inf. */
export function assertFinite(m: Matrix, what: string, source: string): void {
  const at = firstNonFinite(m.data);
  if (at >= 0) {
    const row = Math.floor(at / m.cols);
    const col = at % m.cols;
    throw new InputError(
      `${what} must be finite; found ${describe(m.data[at])} at row ${row}, column ${col}`,
      source,
    );
  }
}

/** Label array as N × K (K = 1 for a 1-D array). */
function labelShape(labels: NdArray, source: string): { n: number; k: number } {
  if (labels.shape.length === 1) return { n: labels.shape[0], k: 1 };
  if (labels.shape.length === 2) return { n: labels.shape[0], k: labels.shape[1] };
  throw new InputError(`labels: expected a 1-D or 2-D array, found shape (${labels.shape.join(', ')})`, source);
}

/**
 * `--task auto` (specs/cli.md §3): a 2-D 0/1 matrix with more than one column
 * is multi-label; integer-valued labels are classification; other floats are
 * regression.
 */
export function inferTask(labels: NdArray, source: string): TaskType {
  const { k } = labelShape(labels, source);
  if (k > 1) return isZeroOne(labels.data) ? 'multilabel' : 'regression';
  return isIntegral(labels.data) ? 'classification' : 'regression';
}

/**
 * `--task auto` guard: integer targets that are a quantity or an id (a count,
 * an age, a sample number) would become hundreds of one-sample classes, and
 * every class-based score would be meaningless (LogME on sample ids: 1.23
 * instead of −0.22 as regression). When most classes would have a single
 * sample, or there would be more classes than half the samples, the user must
 * say which task is meant.
 */
function refuseQuantityLike(values: FloatArray, source: string): void {
  const n = values.length;
  const counts = new Map<number, number>();
  for (let i = 0; i < n; i++) counts.set(values[i], (counts.get(values[i]) ?? 0) + 1);
  const classes = counts.size;
  let singles = 0;
  for (const c of counts.values()) if (c === 1) singles++;
  if (classes >= 3 && (singles > classes / 2 || classes > n / 2)) {
    throw new UsageError(
      `${source}: --task auto cannot tell what these labels are: ${classes} distinct integer values among ${n} samples, ` +
        `${singles} of them seen only once, which looks like a quantity (a count, an age) or an id rather than classes. ` +
        'Rerun with --task regression for a quantity, or --task classification if these really are class ids',
    );
  }
}

/**
 * Dense re-coding (specs/scorers.md §0): the distinct values, sorted
 * ascending, become 0..C−1. Never `max(y)+1` classes, which would create empty
 * classes that inflate LogME (docs/users.md, "silent failures").
 */
export function encodeClasses(values: readonly (number | string)[] | FloatArray, source: string): ClassTargets {
  const n = values.length;
  const distinct = Array.from(new Set(values as Iterable<number | string>));
  const numeric = distinct.every((v) => typeof v === 'number');
  // Ascending values; names in code-point order, as numpy's np.unique sorts strings.
  if (numeric) (distinct as number[]).sort((a, b) => a - b);
  else distinct.sort((a, b) => (String(a) < String(b) ? -1 : String(a) > String(b) ? 1 : 0));
  const index = new Map<number | string, number>();
  distinct.forEach((v, i) => index.set(v, i));
  const labels = new Int32Array(n);
  const counts = new Int32Array(distinct.length);
  for (let i = 0; i < n; i++) {
    const c = index.get(values[i])!;
    labels[i] = c;
    counts[c]++;
  }
  if (numeric) {
    for (const v of distinct as number[]) {
      if (!Number.isFinite(v)) throw new InputError(`labels must be finite; found ${describe(v)}`, source);
    }
  }
  return { type: 'classification', labels, numClasses: distinct.length, counts, labelMap: distinct };
}

/** Turns a loaded label array into scorer targets for the chosen or inferred task. */
export function makeTargets(labels: LoadedArray, task: TaskOption, source: string): Targets {
  if ('strings' in labels) {
    if (task === 'regression' || task === 'multilabel') {
      throw new InputError(`${task} targets must be numbers; found class names (e.g. '${labels.strings[0] ?? ''}')`, source);
    }
    return encodeClasses(labels.strings, source);
  }
  const { n, k } = labelShape(labels, source);
  const type = task === 'auto' ? inferTask(labels, source) : task;
  if (task === 'auto' && type === 'classification') refuseQuantityLike(labels.data, source);
  if (type === 'classification') {
    if (k !== 1) {
      throw new InputError(
        `classification labels: expected a 1-D array of N class labels, found shape (${labels.shape.join(', ')})`,
        source,
      );
    }
    const bad = firstNonFinite(labels.data);
    if (bad >= 0) throw new InputError(`labels must be finite; found ${describe(labels.data[bad])} at row ${bad}`, source);
    for (let i = 0; i < n; i++) {
      const v = labels.data[i];
      if (v !== Math.floor(v)) {
        throw new InputError(
          `classification labels must be integers; found ${v} at row ${i} (use --task regression for continuous targets)`,
          source,
        );
      }
    }
    return encodeClasses(labels.data, source);
  }
  const values = labels.data instanceof Float64Array ? labels.data : Float64Array.from(labels.data);
  const bad = firstNonFinite(values);
  if (bad >= 0) {
    throw new InputError(
      `targets must be finite; found ${describe(values[bad])} at row ${Math.floor(bad / k)}, column ${bad % k}`,
      source,
    );
  }
  if (type === 'multilabel' && !isZeroOne(values)) {
    throw new InputError('multi-label targets must be an N × K matrix of 0/1 values', source);
  }
  const out: ValueTargets = { type, values, n, k };
  return out;
}

export function targetCount(t: Targets): number {
  return t.type === 'classification' ? t.labels.length : t.n;
}

/** Task-level problems that make every score meaningless (errors) or doubtful (warnings). */
export function checkTargets(t: Targets, source: string): string[] {
  const warnings: string[] = [];
  if (t.type === 'classification') {
    if (t.numClasses < 2) {
      throw new InputError(`classification needs at least 2 classes; found ${t.numClasses}`, source);
    }
    const singles: string[] = [];
    for (let c = 0; c < t.numClasses; c++) if (t.counts[c] === 1) singles.push(String(t.labelMap[c]));
    if (singles.length > 0) {
      const shown = singles.slice(0, 5).join(', ') + (singles.length > 5 ? `, … (${singles.length} in all)` : '');
      warnings.push(`${singles.length} class(es) have a single sample: ${shown}`);
    }
  }
  return warnings;
}

/**
 * Regression targets with a large offset: LogME (as the reference) and DISCO
 * fit no intercept, so a constant added to the targets changes the ranking.
 * Warns when a column's mean exceeds its standard deviation.
 */
export function checkRegressionOffset(t: ValueTargets): string[] {
  if (t.type !== 'regression') return [];
  const { mean, sd } = columnMoments(t);
  const large: string[] = [];
  for (let c = 0; c < t.k; c++) {
    if (sd[c] > 0 && Math.abs(mean[c]) > sd[c]) large.push(`${t.k > 1 ? `column ${c}: ` : ''}mean ${mean[c].toPrecision(4)}, standard deviation ${sd[c].toPrecision(4)}`);
  }
  if (large.length === 0) return [];
  return [
    `regression targets have a large offset (${large.slice(0, 3).join('; ')}${large.length > 3 ? '; …' : ''}): LogME and DISCO fit no intercept, ` +
      'so the offset changes the scores and can change the ranking; --center-targets subtracts the mean (the default keeps the targets as given, as the reference implementations do)',
  ];
}

function columnMoments(t: ValueTargets): { mean: Float64Array; sd: Float64Array } {
  const mean = new Float64Array(t.k);
  const sd = new Float64Array(t.k);
  for (let i = 0; i < t.n; i++) for (let c = 0; c < t.k; c++) mean[c] += t.values[i * t.k + c];
  for (let c = 0; c < t.k; c++) mean[c] /= t.n;
  for (let i = 0; i < t.n; i++) {
    for (let c = 0; c < t.k; c++) {
      const d = t.values[i * t.k + c] - mean[c];
      sd[c] += d * d;
    }
  }
  for (let c = 0; c < t.k; c++) sd[c] = Math.sqrt(sd[c] / t.n);
  return { mean, sd };
}

/** Regression targets with every column's mean subtracted (`--center-targets`). */
export function centreTargets(t: ValueTargets): ValueTargets {
  const { mean } = columnMoments(t);
  const values = new Float64Array(t.values.length);
  for (let i = 0; i < t.n; i++) for (let c = 0; c < t.k; c++) values[i * t.k + c] = t.values[i * t.k + c] - mean[c];
  return { ...t, values };
}

/** Row-count agreement, checked before any pass over the features. */
export function checkRowCount(rows: number, n: number, what: string, source: string): void {
  if (rows !== n) throw new InputError(`${what}: expected ${n} rows (one per label), found ${rows}`, source);
}

/** Model-level checks from the one pass over the features: finiteness, N < D, constant columns. */
export function checkFeatures(s: FeatureSummary, source: string): string[] {
  if (s.nonFinite) {
    const { row, col, value } = s.nonFinite;
    throw new InputError(`features must be finite; found ${describe(value)} at row ${row}, column ${col}`, source);
  }
  if (s.cols === 0) throw new InputError('features: expected N × D features with D ≥ 1, found 0 columns', source);
  const warnings: string[] = [];
  if (s.rows < s.cols) {
    warnings.push(`N < D (${s.rows} samples, ${s.cols} dimensions): scores rest on few samples per dimension`);
  }
  if (s.constantColumns === s.cols) {
    throw new InputError(`features: every column is constant; the features carry no information`, source);
  }
  if (s.constantColumns > 0) warnings.push(`${s.constantColumns} of ${s.cols} feature columns are constant`);
  return warnings;
}

/** Source-head outputs: one row per label (finiteness and the probability check happen at conversion). */
export function checkProbs(p: Matrix, n: number, source: string): void {
  checkRowCount(p.rows, n, 'source-head outputs', source);
}
