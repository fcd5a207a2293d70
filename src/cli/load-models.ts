/**
 * Loading a model's inputs for the CLI: features (whole, streamed in row
 * chunks, or from a complete-model .npz) and source-head outputs, each input
 * failing on its own. Separate from main.ts so model workers can use it.
 */
import { statSync } from 'node:fs';
import { RankModelsError, InputError } from '../core/errors.js';
import { toProbabilities, type ProbsKindOption } from '../core/probs.js';
import type { ModelEntry } from '../core/rank.js';
import type { ScorerInput } from '../core/scorers/index.js';
import type { RowSource } from '../core/source.js';
import type { LoadedArray, Matrix, NdArray } from '../core/types.js';
import { asMatrix, describeRef, loadArray, loadNpzBundle, type InputRef, type NpzBundle } from '../io/load.js';
import { openNpyRows } from '../io/npy-stream.js';
import type { ModelReport } from '../report/report.js';

export interface ModelSpec {
  name: string;
  features?: InputRef;
  probs?: InputRef;
  /** Where this model was named (`models[1]` in a manifest, or the argument). */
  origin: string;
}

export interface LoadContext {
  probsKind: ProbsKindOption;
  stdin: { stdin?: NodeJS.ReadableStream };
  /** Complete-model `.npz` files, read once each (null: not an npz). */
  bundles: Map<string, NpzBundle | RankModelsError | null>;
  /** Feature files at least this large are streamed (RANK_MODELS_STREAM_BYTES; default 512 MiB). */
  streamBytes: number;
  /** The run's labels, for checking labels carried by a model's own `.npz`. */
  labels?: { array: LoadedArray; where: string };
}

/**
 * A `.npy` feature file of at least `threshold` bytes is read in row chunks
 * while it is scored instead of loaded whole (C-order 2-D files only), so
 * files larger than memory or than one Node buffer can be scored.
 */
function streamFeatures(ref: InputRef, threshold: number): { rows: RowSource; dtype: string } | null {
  if (ref.selector || ref.path === '-' || !/\.npy$/i.test(ref.path)) return null;
  let size: number;
  try {
    size = statSync(ref.path).size;
  } catch {
    return null; // the regular loader reports the problem
  }
  if (size < threshold) return null;
  const rows = openNpyRows(ref.path);
  return rows ? { rows, dtype: rows.dtype } : null;
}

/** The complete-model bundle behind a bare `.npz` path (no `#key`), or null. */
export async function bundleFor(ref: InputRef | undefined, bundles: LoadContext['bundles']): Promise<NpzBundle | null> {
  if (!ref || ref.selector || ref.path === '-' || !/\.npz$/i.test(ref.path)) return null;
  if (!bundles.has(ref.path)) {
    try {
      bundles.set(ref.path, await loadNpzBundle(ref.path));
    } catch (err) {
      if (!(err instanceof RankModelsError)) throw err;
      bundles.set(ref.path, err);
    }
  }
  const b = bundles.get(ref.path)!;
  if (b instanceof RankModelsError) throw b;
  return b;
}

function sameLabels(a: LoadedArray, b: LoadedArray): boolean {
  const va = 'strings' in a ? a.strings : a.data;
  const vb = 'strings' in b ? b.strings : b.data;
  if (va.length !== vb.length) return false;
  for (let i = 0; i < va.length; i++) if (va[i] !== vb[i]) return false;
  return true;
}

/** Loads one model's inputs; a failing input is recorded, never thrown, so the other inputs and models still count. */
export async function loadModel(spec: ModelSpec, ctx: LoadContext): Promise<{ entry: ModelEntry; info: ModelReport['inputs'] }> {
  const info: ModelReport['inputs'] = {};
  const inputs: { name: string; features?: Matrix; featureRows?: RowSource; probs?: Matrix } = { name: spec.name };
  const inputErrors: Partial<Record<ScorerInput, string>> = {};
  const sources: Partial<Record<ScorerInput, string>> = {};
  const warnings: string[] = [];
  const attempt = async (fn: () => Promise<void>): Promise<string | undefined> => {
    try {
      await fn();
      return undefined;
    } catch (err) {
      if (err instanceof RankModelsError) return err.message;
      throw err;
    }
  };
  let bundledProbs: { array: NdArray; where: string; key: 'probs' | 'logits' } | undefined;
  if (spec.features) {
    const ref = spec.features;
    const where = describeRef(ref);
    sources.features = where;
    info.features = { path: where };
    const err = await attempt(async () => {
      const bundle = await bundleFor(ref, ctx.bundles);
      let a: NdArray;
      if (bundle) {
        if (!bundle.features) {
          throw new InputError(`expected a 'features' key (or name one with PATH#key); found keys: ${bundle.keys.join(', ')}`, where);
        }
        a = bundle.features;
        if (bundle.labels && ctx.labels && !sameLabels(bundle.labels, ctx.labels.array)) {
          throw new InputError(`the labels in this .npz differ from the labels of this run (${ctx.labels.where})`, where);
        }
        if (bundle.probs && bundle.probsKey) bundledProbs = { array: bundle.probs, where: `${ref.path}#${bundle.probsKey}`, key: bundle.probsKey };
      } else {
        const streamed = streamFeatures(ref, ctx.streamBytes);
        if (streamed) {
          info.features = { path: where, dtype: streamed.dtype, shape: [streamed.rows.rows, streamed.rows.cols] };
          inputs.featureRows = streamed.rows;
          return;
        }
        a = await loadArray(ref, { role: 'features', ...ctx.stdin });
      }
      info.features = { path: where, dtype: a.dtype, shape: [...a.shape] };
      inputs.features = asMatrix(a, 'features', where);
      if (a.warnings) warnings.push(...a.warnings);
    });
    if (err) inputErrors.features = err;
  }
  if (spec.probs || bundledProbs) {
    const where = spec.probs ? describeRef(spec.probs) : bundledProbs!.where;
    sources.probs = where;
    info.probs = { path: where };
    const err = await attempt(async () => {
      const a = spec.probs ? await loadArray(spec.probs, { role: 'probs', ...ctx.stdin }) : bundledProbs!.array;
      const m = asMatrix(a, 'source-head outputs', where);
      // An npz key named `logits` says what it holds, unless the user overrides it.
      const option = !spec.probs && ctx.probsKind === 'auto' && bundledProbs!.key === 'logits' ? 'logits' : ctx.probsKind;
      const { probs, kind, warnings: probsWarnings } = toProbabilities(m, option, where);
      info.probs = { path: where, dtype: a.dtype, shape: [...a.shape], kind };
      inputs.probs = probs;
      warnings.push(...probsWarnings);
    });
    if (err) inputErrors.probs = err;
  }
  return { entry: { name: spec.name, inputs, inputErrors, sources, warnings }, info };
}
