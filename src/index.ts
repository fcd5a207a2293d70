/**
 * rank-models as a library: loaders, scorers, ranking and reporters.
 * The CLI (src/cli/main.ts) is a thin layer over these exports.
 */
export type { ClassTargets, FloatArray, LoadedArray, Matrix, NdArray, StringArray, TaskType, Targets, ValueTargets } from './core/types.js';
export { RankModelsError, UsageError, InputError, ScorerError } from './core/errors.js';
export { makeTargets, inferTask, encodeClasses, checkTargets, checkFeatures } from './core/validate.js';
export { ModelContext, type ModelInputs } from './core/context.js';
export { spectralProjection, type SpectralProjection } from './core/spectral.js';
export { scorers, scorerIds, coreScorerIds, defaultScorers, isScorerId, type ScorerId, type Scorer, type ScoreResult } from './core/scorers/index.js';
export { columnEvidence, logmeFromProjection } from './core/scorers/logme.js';
export { leepScore } from './core/scorers/leep.js';
export { nceFromSourceLabels, rowArgmax } from './core/scorers/nce.js';
export { toProbabilities, softmaxRows, type ProbsKind } from './core/probs.js';
export { orderModels, TIE_RTOL } from './core/pool.js';
export { rank, type ModelEntry, type ModelResult, type Ranking, type RankOutput, type Cell } from './core/rank.js';
export { evaluateScores, weightedTau, weightedTauRanked, decreasingLexRank, kendallTauB, spearmanRho, pearsonR, averageRanks, type Evaluation, type NumericVector } from './core/evaluate.js';
export { parseNpy } from './io/npy.js';
export { loadArray, loadNpzBundle, asMatrix, parseRef, isStringArray, type InputRef, type LoadOptions, type NpzBundle } from './io/load.js';
export { buildReport, SCHEMA_VERSION, type Report } from './report/report.js';
export { renderJson, renderNdjson } from './report/json.js';
export { renderTable } from './report/table.js';
export { renderCsv } from './report/csv.js';
export { renderMarkdown } from './report/markdown.js';
export { run, type CliIO } from './cli/main.js';
