/**
 * Scorer parameters for a run: the manifest's `params:` overlaid by the
 * `--<id>-<name>` flags, checked against each scorer's own declaration
 * (core/scorers/params.ts), defaults filled in. A value for a scorer that is
 * not selected has no effect, and a warning says so.
 */
import type { ScorerParams } from '../core/context.js';
import { scorers, type ScorerId } from '../core/scorers/index.js';
import { paramFlag, parseParam, resolveParams, type ResolvedParams } from '../core/scorers/params.js';
import type { ParamFlags } from './program.js';

export function runParams(
  ids: readonly ScorerId[],
  flags: ParamFlags,
  manifest: { file: string; params: Readonly<Record<string, Readonly<Record<string, unknown>>>> } | undefined,
  warn: (msg: string) => void,
): ScorerParams {
  for (const [id, given] of Object.entries(flags)) {
    if (!ids.includes(id as ScorerId)) warn(`${Object.keys(given).map((n) => paramFlag(id, n)).join(', ')}: no effect, ${id} is not selected`);
  }
  for (const id of Object.keys(manifest?.params ?? {})) {
    if (!ids.includes(id as ScorerId)) warn(`${manifest!.file}: params.${id}: no effect, ${id} is not selected`);
  }
  const out: Record<string, ResolvedParams> = {};
  for (const id of ids) {
    const specs = scorers[id].params;
    if (!specs) continue;
    const resolved: Record<string, ResolvedParams[string]> = {
      ...resolveParams(id, specs, manifest?.params[id] ?? {}, (name) => `${manifest?.file}: params.${id}.${name}`),
    };
    for (const [name, raw] of Object.entries(flags[id] ?? {})) resolved[name] = parseParam(specs[name], raw, paramFlag(id, name), true);
    out[id] = resolved;
  }
  return out;
}
