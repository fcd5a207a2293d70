/**
 * zod schemas for the command-line flags and the manifest, parsed once at the
 * boundary. Every zod issue becomes one readable line with its path in the
 * file (`models[1].features: …`) inside a UsageError.
 */
import { z } from 'zod';
import { UsageError } from '../core/errors.js';
import { isScorerId, scorerIds } from '../core/scorers/index.js';

export const FORMATS = ['table', 'json', 'ndjson', 'csv', 'markdown'] as const;
export type Format = (typeof FORMATS)[number];
export const TASKS = ['auto', 'classification', 'regression', 'multilabel'] as const;

const scorerId = z.string().superRefine((id, ctx) => {
  if (!isScorerId(id)) ctx.addIssue({ code: 'custom', message: `unknown scorer '${id}' (known: ${scorerIds.join(', ')})` });
});

/** A scorer id, or `all`: every registered scorer that applies to the task and the models' inputs. */
const scorerChoice = z.string().superRefine((id, ctx) => {
  if (id !== 'all' && !isScorerId(id)) ctx.addIssue({ code: 'custom', message: `unknown scorer '${id}' (known: ${scorerIds.join(', ')}, or all)` });
});

/**
 * A numeric flag, parsed from commander's string with messages in our words
 * (`--min-margin: expected a number, got 'abc'`, not zod's "received NaN").
 */
export function numberFlag(opts: { integer?: boolean; min?: number; positive?: boolean } = {}) {
  return z.union([z.string(), z.number()]).transform((raw, ctx) => {
    const text = String(raw).trim();
    const v = text === '' ? NaN : Number(text);
    const fail = (message: string): never => {
      ctx.addIssue({ code: 'custom', message });
      return z.NEVER;
    };
    if (!Number.isFinite(v)) return fail(`expected ${opts.integer ? 'a whole number' : 'a number'}, got '${raw}'`);
    if (opts.integer && !Number.isInteger(v)) return fail(`expected a whole number, got '${raw}'`);
    if (opts.positive && v <= 0) return fail(`expected a number above 0, got '${raw}'`);
    if (opts.min !== undefined && v < opts.min) return fail(`expected a number ≥ ${opts.min}, got '${raw}'`);
    return v;
  });
}

export const flagsSchema = z.object({
  labels: z.string().min(1).optional(),
  probs: z.array(z.string().regex(/^[^=/]+=.+$/, 'expected NAME=PATH')).default([]),
  probsKind: z.enum(['auto', 'probs', 'logits']).default('auto'),
  manifest: z.string().min(1).optional(),
  task: z.enum(TASKS).default('auto'),
  scorer: z
    .string()
    .transform((s) => s.split(',').map((x) => x.trim()).filter((x) => x.length > 0))
    .pipe(z.array(scorerChoice).min(1, 'give at least one scorer id'))
    .optional(),
  sortBy: scorerId.optional(),
  format: z.enum(FORMATS).optional(),
  json: z.boolean().optional(),
  out: z.string().min(1).optional(),
  best: z.boolean().default(false),
  quiet: z.boolean().default(false),
  color: z.boolean().optional(),
  progress: z.enum(['auto', 'plain', 'none']).default('auto'),
  expectTop: z.string().min(1).optional(),
  minMargin: numberFlag({ min: 0 }).optional(),
  centerTargets: z.boolean().default(false),
  debug: z.boolean().default(false),
  threads: numberFlag({ integer: true, min: 1 }).optional(),
});

export type Flags = z.infer<typeof flagsSchema>;

const ref = z.union([
  z.string().min(1),
  z
    .object({
      path: z.string().min(1),
      column: z.string().min(1).optional(),
      key: z.string().min(1).optional(),
    })
    .strict(),
]);
export type ManifestRef = z.infer<typeof ref>;

export const manifestSchema = z
  .object({
    version: z.literal(1, 'expected version: 1').default(1),
    task: z.enum(TASKS).optional(),
    labels: ref.optional(),
    scorers: z.array(scorerChoice).min(1).optional(),
    /** Scorer parameters by scorer id, e.g. `params: {knn: {k: 5}}`; values are checked against each scorer's declaration. */
    params: z.record(scorerId, z.record(z.string(), z.unknown())).optional(),
    ground_truth: ref.optional(),
    models: z
      .array(
        z
          .object({
            name: z.string().min(1),
            features: ref.optional(),
            probs: ref.optional(),
          })
          .strict()
          .refine((m) => m.features !== undefined || m.probs !== undefined, 'a model needs features, probs, or both'),
      )
      .min(1, 'list at least one model'),
  })
  .strict();

export type Manifest = z.infer<typeof manifestSchema>;

function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const p of path) {
    if (typeof p === 'number') out += `[${p}]`;
    else out += out ? `.${String(p)}` : String(p);
  }
  return out;
}

/** Parses with a schema; each issue becomes one line `path: message`. */
export function parseOrThrow<T extends z.ZodType>(schema: T, value: unknown, what: string, paths?: Record<string, string>): z.infer<T> {
  const r = schema.safeParse(value);
  if (r.success) return r.data;
  const lines = r.error.issues.map((issue) => {
    const p = formatPath(issue.path);
    const head = issue.path.length > 0 ? String(issue.path[0]) : '';
    const shown = paths?.[head] ?? p;
    return shown ? `${what}${shown}: ${issue.message}` : `${what}${issue.message}`;
  });
  throw new UsageError(lines.join('\n'));
}
