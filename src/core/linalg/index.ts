/**
 * The numeric kernels of rank-models: Gram products of feature matrices
 * (float64 accumulation, cache-blocked; WebAssembly SIMD on worker threads
 * when available) and the symmetric eigensolver.
 */
export { classSums, createGramAccumulator, gramCols, gramCounter, gramRows, matTMul } from './gram.js';
export type { GramAccumulator } from './gram.js';
export { getLinalgBackend, getLinalgThreads, setLinalgBackend, setLinalgThreads } from './parallel.js';
export type { LinalgBackend } from './parallel.js';
export { SymSpectrum, symEig, symEigProject } from './eigen.js';
export type { EigenDecomposition, EigenProjection, SymEigOptions } from './eigen.js';
export { ZERO_CUT, centredGramCols, centredGramRows, centredPca, projectCentred } from './pca.js';
export type { Pca } from './pca.js';
