/**
 * The numeric kernels of rank-models: Gram products of feature matrices
 * (float64 accumulation, cache-blocked) and the symmetric eigensolver.
 */
export { classSums, gramCols, gramRows, matTMul } from './gram.js';
export { symEig, symEigProject } from './eigen.js';
export type { EigenDecomposition, EigenProjection, SymEigOptions } from './eigen.js';
