/**
 * Worker thread that loads and scores whole models, so that a run over many
 * models each too small for the parallel kernels still uses every core
 * (issue 6: parallelism across models). Jobs arrive one at a time; the reply
 * is plain data (structured clone).
 */
import { parentPort, workerData } from 'node:worker_threads';
import { setLinalgBackend, setLinalgThreads } from '../core/linalg/index.js';
import { scoreModel } from '../core/rank.js';
import { loadModel, type LoadContext, type ModelSpec } from './load-models.js';
import type { ModelWorkerData, ModelWorkerReply } from './model-workers.js';

const data = workerData as ModelWorkerData;
// One thread per worker: the workers already occupy the cores.
setLinalgThreads(1);
setLinalgBackend(data.backend);
const ctx: LoadContext = {
  probsKind: data.probsKind,
  stdin: {},
  bundles: new Map(),
  streamBytes: data.streamBytes,
  labels: data.labels,
};

parentPort!.on('message', (job: { index: number; spec: ModelSpec } | null) => {
  if (job === null) {
    parentPort!.close();
    return;
  }
  const t0 = performance.now();
  void loadModel(job.spec, ctx)
    .then(({ entry, info }) => {
      const result = scoreModel(entry, data.targets, data.ids, data.params);
      const reply: ModelWorkerReply = { index: job.index, result, info, ms: performance.now() - t0 };
      parentPort!.postMessage(reply);
    })
    .catch((err: unknown) => {
      const reply: ModelWorkerReply = { index: job.index, error: err instanceof Error ? err.message : String(err), ms: performance.now() - t0 };
      parentPort!.postMessage(reply);
    });
});
