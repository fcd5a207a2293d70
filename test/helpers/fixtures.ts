import { readFileSync } from 'node:fs';
import path from 'node:path';
import { ModelContext } from '../../src/core/context.js';
import type { Matrix, TaskType, Targets } from '../../src/core/types.js';
import { makeTargets } from '../../src/core/validate.js';
import { FIXTURES, readNpy } from './cli.js';

export interface ScorerCase {
  task: TaskType;
  n: number;
  d: number;
  files: { features?: string; labels: string; probs?: string; logits?: string };
  logme?: number;
  logme_icml?: number;
  leep?: number;
  nce?: number;
  disco?: { score: number; ratio: number[]; ncc?: number[]; lr?: number[]; singular_values: number[]; [k: string]: unknown };
  notes?: string;
}

export const SCORER_DIR = path.join(FIXTURES, 'scorers');

export function scorerCases(): Record<string, ScorerCase> {
  return JSON.parse(readFileSync(path.join(SCORER_DIR, 'expected.json'), 'utf8')) as Record<string, ScorerCase>;
}

export function loadMatrix(rel: string): Matrix {
  const a = readNpy(path.join(SCORER_DIR, rel));
  if (a.shape.length !== 2) throw new Error(`${rel}: not 2-D`);
  return { data: a.data, rows: a.shape[0], cols: a.shape[1] };
}

export function loadTargets(c: ScorerCase): Targets {
  return makeTargets(readNpy(path.join(SCORER_DIR, c.files.labels)), c.task, c.files.labels);
}

export function caseContext(name: string, c: ScorerCase): ModelContext {
  const inputs: { name: string; features?: Matrix; probs?: Matrix } = { name };
  if (c.files.features) inputs.features = loadMatrix(c.files.features);
  return new ModelContext(inputs, loadTargets(c));
}
