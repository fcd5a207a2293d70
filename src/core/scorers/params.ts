/**
 * Scorer parameters, declared by each scorer in its own file. Everything
 * else is derived from these declarations (docs/scorers.md, "Parameters"):
 * the command-line flags `--<scorer id>-<name>`, the manifest's
 * `params: {<scorer id>: {<name>: value}}`, the validation messages, the
 * JSON report's `scorers[].params` and the `rank-models scorers` listing. A
 * scorer therefore adds a parameter without touching the CLI.
 */
import { UsageError } from '../errors.js';

export type ParamSpec =
  | { readonly type: 'integer'; readonly default: number; readonly min?: number; readonly max?: number; readonly help: string }
  | { readonly type: 'number'; readonly default: number; readonly min?: number; readonly max?: number; readonly help: string }
  | { readonly type: 'enum'; readonly values: readonly string[]; readonly default: string; readonly help: string }
  | { readonly type: 'boolean'; readonly default: boolean; readonly help: string };

export type ParamSpecs = Readonly<Record<string, ParamSpec>>;
export type ParamValue = number | string | boolean;
export type ResolvedParams = Readonly<Record<string, ParamValue>>;

/** The flag of a parameter: `--knn-k`, `--disco-groups`. */
export function paramFlag(scorerId: string, name: string): string {
  return `--${scorerId}-${name}`;
}

/** What the parameter accepts, for help and messages: `a whole number ≥ 1`, `one of spherical, diagonal`. */
export function describeDomain(spec: ParamSpec): string {
  switch (spec.type) {
    case 'enum':
      return `one of ${spec.values.join(', ')}`;
    case 'boolean':
      return 'true or false';
    default: {
      const what = spec.type === 'integer' ? 'a whole number' : 'a number';
      const lo = spec.min !== undefined ? ` ≥ ${spec.min}` : '';
      const hi = spec.max !== undefined ? `${lo ? ' and' : ''} ≤ ${spec.max}` : '';
      return `${what}${lo}${hi}`;
    }
  }
}

/**
 * Parses one value against its spec; throws a UsageError labelled `where`.
 * `fromText`: the value is a flag's string (`'8'`, `'true'`); otherwise it
 * must already have the right JSON type (a manifest, the library).
 */
export function parseParam(spec: ParamSpec, raw: unknown, where: string, fromText = false): ParamValue {
  const fail = (): never => {
    throw new UsageError(`${where}: expected ${describeDomain(spec)}, got ${typeof raw === 'string' ? `'${raw}'` : JSON.stringify(raw)}`);
  };
  switch (spec.type) {
    case 'enum':
      return typeof raw === 'string' && spec.values.includes(raw) ? raw : fail();
    case 'boolean':
      if (typeof raw === 'boolean') return raw;
      return fromText && raw === 'true' ? true : fromText && raw === 'false' ? false : fail();
    default: {
      const text = typeof raw === 'number' ? String(raw) : fromText && typeof raw === 'string' ? raw.trim() : '';
      const v = text === '' ? NaN : Number(text);
      if (!Number.isFinite(v) || (spec.type === 'integer' && !Number.isInteger(v))) return fail();
      if ((spec.min !== undefined && v < spec.min) || (spec.max !== undefined && v > spec.max)) return fail();
      return v;
    }
  }
}

/**
 * A scorer's parameters with defaults filled in. `given` holds raw values by
 * parameter name; `where(name)` labels messages (`--knn-k`, `models.yaml:
 * params.knn.k`). An unknown name is a usage error listing the known ones.
 */
export function resolveParams(
  scorerId: string,
  specs: ParamSpecs | undefined,
  given: Readonly<Record<string, unknown>>,
  where: (name: string) => string,
  fromText = false,
): ResolvedParams {
  const out: Record<string, ParamValue> = {};
  const known = Object.keys(specs ?? {});
  for (const name of Object.keys(given)) {
    if (!known.includes(name)) {
      throw new UsageError(`${where(name)}: ${scorerId} has no parameter '${name}'${known.length > 0 ? ` (its parameters: ${known.join(', ')})` : ''}`);
    }
  }
  for (const [name, spec] of Object.entries(specs ?? {})) {
    out[name] = given[name] === undefined ? spec.default : parseParam(spec, given[name], where(name), fromText);
  }
  return out;
}
