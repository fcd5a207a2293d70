/**
 * Parallelism across models (issue 6, scope 3): when a run has several models
 * whose kernels are each too small for the parallel Gram kernels, whole models
 * are loaded and scored on worker threads, one model per job, as many workers
 * as threads. Results are identical to the sequential path (same code, one
 * linalg thread per worker); only the order of completion differs.
 */
import { existsSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { ScorerParams } from '../core/context.js';
import type { LinalgBackend } from '../core/linalg/index.js';
import type { ProbsKindOption } from '../core/probs.js';
import type { ModelResult, RankEvent } from '../core/rank.js';
import type { ScorerId } from '../core/scorers/index.js';
import type { LoadedArray, Targets } from '../core/types.js';
import { readNpyHeaderFromFile } from '../io/npy-stream.js';
import type { ModelReport } from '../report/report.js';
import type { ModelSpec } from './load-models.js';

export interface ModelWorkerData {
  readonly targets: Targets;
  readonly ids: readonly ScorerId[];
  readonly params: ScorerParams;
  readonly probsKind: ProbsKindOption;
  readonly streamBytes: number;
  readonly labels?: { array: LoadedArray; where: string };
  readonly backend: LinalgBackend;
}

export type ModelWorkerReply =
  | { index: number; result: ModelResult; info: ModelReport['inputs']; ms: number }
  | { index: number; error: string; ms: number };

/** The compiled worker (also used when the CLI runs from source under the test runner). */
const WORKER_URL = new URL('../../dist/cli/model-worker.js', import.meta.url);

/** Below this per-model work (≈ multiply-adds of the Gram) the parallel kernels stay single-threaded. */
const KERNEL_PARALLEL_WORK = 2e9;
/** Above this total work, spreading models over workers pays for starting them. */
const MIN_TOTAL_WORK = 2e8;

export type ModelWorkersMode = 'auto' | 'always' | 'never';

/**
 * Whether to score models on workers: several models, several threads, every
 * model a plain `.npy` whose Gram is too small for the parallel kernels, and
 * enough work in all (mode 'auto'); 'always'/'never' force the choice.
 */
export function useModelWorkers(specs: readonly ModelSpec[], threads: number, mode: ModelWorkersMode): boolean {
  if (mode === 'never' || threads < 2 || specs.length < 2 || !existsSync(fileURLToPath(WORKER_URL))) return false;
  if (specs.some((s) => s.features?.path === '-' || s.probs?.path === '-' || (s.features && /\.npz$/i.test(s.features.path) && !s.features.selector))) {
    return false;
  }
  if (mode === 'always') return true;
  let total = 0;
  for (const s of specs) {
    if (!s.features) continue;
    if (s.features.selector || !/\.npy$/i.test(s.features.path)) return false;
    let shape: number[];
    try {
      // A FIFO must be read once, by the loader: reading its header here would consume it.
      if (!statSync(s.features.path).isFile() || (s.probs && !statSync(s.probs.path).isFile())) return false;
      shape = readNpyHeaderFromFile(s.features.path).header.shape;
    } catch {
      continue; // the loader reports it
    }
    if (shape.length !== 2) continue;
    const small = Math.min(shape[0], shape[1]);
    const work = small * small * Math.max(shape[0], shape[1]);
    if (work >= KERNEL_PARALLEL_WORK) return false;
    total += work;
  }
  return total >= MIN_TOTAL_WORK;
}

function failed(name: string, message: string, ids: readonly ScorerId[]): ModelResult {
  const scores: ModelResult['scores'] = {};
  for (const id of ids) scores[id] = { status: 'error', value: null, message };
  return { name, status: 'error', message, warnings: [], scores, aggregate: null };
}

/** Loads and scores every model on `threads` workers; results in the order of `specs`. */
export async function scoreInWorkers(
  specs: readonly ModelSpec[],
  data: ModelWorkerData,
  threads: number,
  onEvent?: (e: RankEvent) => void,
): Promise<{ results: ModelResult[]; infos: ModelReport['inputs'][] }> {
  const total = specs.length;
  const results = new Array<ModelResult>(total);
  const infos = new Array<ModelReport['inputs']>(total);
  const workers: Worker[] = [];
  let next = 0;
  let done = 0;
  try {
    await new Promise<void>((resolve, reject) => {
      const give = (w: Worker): void => {
        if (next >= total) return;
        const index = next++;
        onEvent?.({ type: 'model-start', name: specs[index].name, index, total });
        w.postMessage({ index, spec: specs[index] });
      };
      for (let i = 0; i < Math.min(threads, total); i++) {
        const w = new Worker(WORKER_URL, { workerData: data });
        workers.push(w);
        w.on('message', (r: ModelWorkerReply) => {
          const name = specs[r.index].name;
          if ('error' in r) {
            results[r.index] = failed(name, `internal error: ${r.error}`, data.ids);
            infos[r.index] = {};
          } else {
            results[r.index] = r.result;
            infos[r.index] = r.info;
          }
          onEvent?.({ type: 'model-done', name, index: r.index, total, ms: r.ms, status: results[r.index].status });
          if (++done === total) resolve();
          else give(w);
        });
        w.on('error', reject);
        give(w);
      }
    });
  } finally {
    await Promise.all(workers.map((w) => w.terminate()));
  }
  return { results, infos };
}
