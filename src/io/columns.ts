/**
 * Which columns of a table are features when the user names none (Arrow
 * today, Parquet next). A table with one numeric column per dimension often
 * carries other numeric columns too — the labels (`target`), a pandas index,
 * a sample id — and taking those as features silently changes every score
 * (a label column leaks the answer: LogME 0.42 → 0.50 in our tests; an index
 * column distorts DISCO 0.54 → 0.11). Such columns are left out by name and,
 * for integer columns, by content (0..N−1 or 1..N in row order), and the
 * report says which ones.
 */

/** Column names that hold targets, not features. */
const LABEL_LIKE = /^(labels?|targets?|y|class(es)?|category|ground[_ -]?truth|gt)$/i;

/** Column names that identify samples, not describe them. */
const ID_LIKE = /^(index|idx|id|uid|uuid|key|sample|file(name)?|path|image|__index_level_\d+__|level_\d+|unnamed: ?\d+)$|[_ -](id|idx|index)$/i;

export type ColumnRole = 'label-like' | 'id-like';

/** Why a column is not a feature by its name alone, or null. */
export function roleByName(name: string): ColumnRole | null {
  if (LABEL_LIKE.test(name.trim())) return 'label-like';
  if (ID_LIKE.test(name.trim())) return 'id-like';
  return null;
}

/** True for an integer column holding 0..N−1 or 1..N in row order: a row number, not a measurement. */
export function isRowNumber(get: (i: number) => number, n: number): boolean {
  if (n < 3) return false;
  const first = get(0);
  if (first !== 0 && first !== 1) return false;
  for (let i = 1; i < n; i++) if (get(i) !== first + i) return false;
  return true;
}

/** The warning that says what was left out and how many columns became features. */
export function leftOutWarning(used: number, left: readonly { name: string; role: ColumnRole }[]): string | null {
  if (left.length === 0) return null;
  const shown = left.map((c) => `'${c.name}' (${c.role})`).join(', ');
  return `features: used ${used} numeric column${used === 1 ? '' : 's'}; left out ${shown}. Name the columns yourself with PATH#a,b,c or PATH#first..last`;
}

/**
 * Expands a column selector: a comma-separated list of names, each either a
 * name or an inclusive range `first..last` in the table's column order.
 * Returns the column indices, or the names that do not exist.
 */
export function expandSelector(names: readonly string[], selector: string): { indices: number[] } | { missing: string[] } {
  const exact = names.indexOf(selector);
  if (exact >= 0) return { indices: [exact] };
  const indices: number[] = [];
  const missing: string[] = [];
  for (const part of selector.split(',').map((s) => s.trim())) {
    const range = /^(.+?)\.\.(.+)$/.exec(part);
    if (range && !names.includes(part)) {
      const a = names.indexOf(range[1]);
      const b = names.indexOf(range[2]);
      if (a < 0) missing.push(range[1]);
      if (b < 0) missing.push(range[2]);
      if (a >= 0 && b >= 0) for (let i = Math.min(a, b); i <= Math.max(a, b); i++) indices.push(i);
      continue;
    }
    const i = names.indexOf(part);
    if (i < 0) missing.push(part);
    else indices.push(i);
  }
  return missing.length > 0 ? { missing } : { indices };
}
