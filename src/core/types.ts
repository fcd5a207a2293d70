/**
 * Shared data types of the numeric core. Matrices are flat, row-major typed
 * arrays plus a shape: no nested arrays, no per-element objects, so that a
 * 20000 × 2048 float32 feature file stays one contiguous buffer from the file
 * to the kernels.
 */

/** Storage of feature values: float32 inputs stay float32 until a kernel reads them. */
export type FloatArray = Float32Array | Float64Array;

/** A dense row-major matrix (`data[i * cols + j]`). */
export interface Matrix {
  readonly data: FloatArray;
  readonly rows: number;
  readonly cols: number;
}

/** What a loader returns: an n-dimensional array with its original dtype recorded. */
export interface NdArray {
  /** Row-major (C-order) values. f2/f4 become Float32Array, every other dtype Float64Array. */
  readonly data: FloatArray;
  readonly shape: readonly number[];
  /** The dtype as written in the file, e.g. `<f4`, `>f8`, `|b1`. */
  readonly dtype: string;
  /** What the reader decided that the user should know (e.g. table columns left out of the features). */
  readonly warnings?: readonly string[];
}

/** String labels (an Arrow string column, a CSV column of names): mapped to classes in sorted order. */
export interface StringArray {
  readonly strings: readonly string[];
  readonly shape: readonly [number];
  readonly dtype: 'string';
}

/** What the loader returns: numbers, or strings for label columns that hold names. */
export type LoadedArray = NdArray | StringArray;

export type TaskType = 'classification' | 'regression' | 'multilabel';

/** Classification targets after dense re-coding (specs/scorers.md §0 "Label encoding"). */
export interface ClassTargets {
  readonly type: 'classification';
  /** N labels in 0..C−1. */
  readonly labels: Int32Array;
  readonly numClasses: number;
  /** Samples per class (length C). */
  readonly counts: Int32Array;
  /** `labelMap[c]` is the original label value of class c (ascending order). */
  readonly labelMap: readonly (number | string)[];
}

/** Regression or multi-label targets: N × K row-major float64, used as is. */
export interface ValueTargets {
  readonly type: 'regression' | 'multilabel';
  readonly values: Float64Array;
  readonly n: number;
  readonly k: number;
}

export type Targets = ClassTargets | ValueTargets;
