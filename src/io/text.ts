/**
 * Labels (and other per-sample values) from text: a CSV/TSV file with a
 * header row, or one value per line.
 *
 * CSV follows RFC 4180: fields separated by commas, tabs or semicolons (the
 * one the header line uses most; tabs by default for .tsv), quoted
 * fields may hold separators, newlines and doubled quotes; CRLF or LF line
 * ends; a UTF-8 byte-order mark and a trailing blank line are ignored.
 * Unquoted fields are trimmed. When every value of the chosen column is a
 * number, the result is a float64 NdArray; otherwise the values are labels
 * given by name, and the result is a StringArray.
 *
 * Pure: parses bytes, never touches the file system.
 */
import path from 'node:path';
import { InputError } from '../core/errors.js';
import type { LoadedArray } from '../core/types.js';

export type TextLayout = 'csv' | 'tsv' | 'lines';

/** `.csv` → csv, `.tsv` → tsv, anything else (`.txt`) → one value per line. */
export function textLayoutFor(file: string): TextLayout {
  const ext = path.extname(file).toLowerCase();
  return ext === '.csv' ? 'csv' : ext === '.tsv' ? 'tsv' : 'lines';
}

const NUMBER = /^[-+]?(?:(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?|inf|infinity|nan)$/i;

function isNumber(s: string): boolean {
  return NUMBER.test(s);
}

function toNumber(s: string): number {
  const l = s.toLowerCase();
  if (l === 'nan' || l === '+nan' || l === '-nan') return NaN;
  if (/^[-+]?inf(inity)?$/.test(l)) return l.startsWith('-') ? -Infinity : Infinity;
  return Number(s);
}

function decodeText(bytes: Uint8Array, source: string): string {
  const probe = bytes.subarray(0, Math.min(bytes.length, 8192));
  if (probe.includes(0)) {
    throw new InputError('expected a text file (CSV or one value per line), found binary data (NUL bytes)', source);
  }
  let text = new TextDecoder('utf-8').decode(bytes);
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  return text;
}

interface Row {
  readonly fields: string[];
  /** 1-based line number where the row starts. */
  readonly line: number;
}

/**
 * RFC 4180 parser. Blank lines at the end of the file are dropped; a blank
 * line before other rows is kept (as one empty field), so that a missing
 * label is reported with its line instead of shifting every later label.
 */
export function parseCsv(text: string, sep: string, source: string): Row[] {
  const rows: Row[] = [];
  let fields: string[] = [];
  let field = '';
  let quoted = false; // the current field was quoted
  let inQuotes = false;
  let line = 1;
  let rowLine = 1;
  let i = 0;
  const n = text.length;
  const endField = (): void => {
    fields.push(quoted ? field : field.trim());
    field = '';
    quoted = false;
  };
  const endRow = (): void => {
    endField();
    rows.push({ fields, line: rowLine });
    fields = [];
  };
  while (i < n) {
    const c = text[i];
    if (inQuotes) {
      if (c === '"') {
        if (text[i + 1] === '"') {
          field += '"';
          i += 2;
          continue;
        }
        inQuotes = false;
        i++;
        continue;
      }
      if (c === '\n') line++;
      field += c;
      i++;
      continue;
    }
    if (c === '"') {
      if (field.trim() !== '') {
        throw new InputError(`malformed CSV at line ${line}: expected a quote only at the start of a field, found one after '${field.trim()}'`, source);
      }
      field = '';
      quoted = true;
      inQuotes = true;
      i++;
      continue;
    }
    if (c === sep) {
      endField();
      i++;
      continue;
    }
    if (c === '\r' || c === '\n') {
      endRow();
      if (c === '\r' && text[i + 1] === '\n') i++;
      i++;
      line++;
      rowLine = line;
      continue;
    }
    if (quoted) {
      if (c === ' ' || c === '\t') {
        i++;
        continue;
      }
      throw new InputError(`malformed CSV at line ${line}: expected a separator or line end after a closing quote, found '${c}'`, source);
    }
    field += c;
    i++;
  }
  if (inQuotes) throw new InputError(`malformed CSV: expected a closing quote for the field opened at line ${rowLine}, found the end of the file`, source);
  if (field !== '' || quoted || fields.length > 0) endRow();
  while (rows.length > 0 && isBlank(rows[rows.length - 1])) rows.pop();
  return rows;
}

function isBlank(r: Row): boolean {
  return r.fields.length === 1 && r.fields[0] === '';
}

/** Separators a `.csv`/`.tsv` file may use: comma, tab, semicolon (European spreadsheets). */
const SEPARATORS = [',', '\t', ';'] as const;

/**
 * The separator of a delimited file, from its first line (outside quotes):
 * the candidate that occurs most often, the layout's default on a tie or when
 * none occurs (a one-column file).
 */
export function detectSeparator(text: string, fallback: string): string {
  let inQuotes = false;
  const counts = new Map<string, number>();
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '"') inQuotes = !inQuotes;
    else if (!inQuotes && (c === '\n' || c === '\r')) break;
    else if (!inQuotes && (SEPARATORS as readonly string[]).includes(c)) counts.set(c, (counts.get(c) ?? 0) + 1);
  }
  let best = fallback;
  let bestCount = counts.get(fallback) ?? 0;
  for (const sep of SEPARATORS) {
    const n = counts.get(sep) ?? 0;
    if (n > bestCount) {
      best = sep;
      bestCount = n;
    }
  }
  return best;
}

function finish(values: string[], where: string, firstLine: (i: number) => number): LoadedArray {
  if (values.length === 0) throw new InputError('expected at least one value, found none', where);
  const empty = values.findIndex((v) => v === '');
  if (empty >= 0) throw new InputError(`expected a value on every row, found an empty one at line ${firstLine(empty)}`, where);
  if (values.every(isNumber)) {
    const data = new Float64Array(values.length);
    for (let i = 0; i < values.length; i++) data[i] = toNumber(values[i]);
    return { data, shape: [values.length], dtype: 'text' };
  }
  return { strings: values, shape: [values.length], dtype: 'string' };
}

/**
 * Reads labels from text. `layout` defaults from the file's extension.
 * CSV/TSV: the first row is a header unless all of its fields are numbers
 * (files written by `np.savetxt`); `column` picks a column by its header name
 * (a comma-separated list gives an N × K matrix); default the only column, or
 * one named `label`/`labels`. Lines: one value per line, no header.
 */
export function readTextLabels(bytes: Uint8Array, source: string, column?: string, layout: TextLayout = textLayoutFor(source)): LoadedArray {
  const where = column ? `${source}#${column}` : source;
  const text = decodeText(bytes, where);
  if (layout === 'lines') {
    if (column) {
      throw new InputError(`a text file with one value per line has no columns; remove '#${column}' (or use a .csv file with a header)`, where);
    }
    const lines = text.split(/\r\n|\n|\r/);
    while (lines.length > 0 && lines[lines.length - 1].trim() === '') lines.pop();
    const values = lines.map((l) => l.trim());
    const multi = values.findIndex((v) => /[,\t;]/.test(v) && !isNumber(v));
    if (multi >= 0 && values.every((v) => /[,\t;]/.test(v))) {
      throw new InputError(
        `expected one value per line, found several fields on line ${multi + 1} ('${values[multi].slice(0, 40)}'); name the file .csv (with a header row) to read columns`,
        where,
      );
    }
    return finish(values, where, (i) => i + 1);
  }

  const sep = detectSeparator(text, layout === 'tsv' ? '\t' : ',');
  const rows = parseCsv(text, sep, where);
  if (rows.length === 0) throw new InputError('expected a header row and values, found an empty file', where);
  const first = rows[0].fields;
  const headerless = !column && first.every((f) => f !== '' && isNumber(f));
  const header = headerless ? first.map((_, j) => String(j)) : first;
  const body = headerless ? rows : rows.slice(1);
  const width = header.length;
  for (const r of body) {
    if (isBlank(r) && width > 1) throw new InputError(`expected a value on every row, found an empty line at line ${r.line}`, where);
    if (r.fields.length !== width) {
      throw new InputError(
        `expected ${width} field${width === 1 ? '' : 's'} on every row (as in the ${headerless ? 'first row' : 'header'}), found ${r.fields.length} on line ${r.line}`,
        where,
      );
    }
  }
  const columns = header.map((h) => `'${h}'`).join(', ');
  let indices: number[];
  if (column) {
    const exact = header.indexOf(column);
    if (exact >= 0) {
      indices = [exact];
    } else {
      const names = column.split(',').map((s) => s.trim());
      const missing = names.filter((nm) => !header.includes(nm));
      if (missing.length > 0) {
        throw new InputError(`no column ${missing.map((m) => `'${m}'`).join(', ')}; expected one of the header's columns: ${columns}`, where);
      }
      indices = names.map((nm) => header.indexOf(nm));
    }
  } else if (width === 1) {
    indices = [0];
  } else {
    let j = header.indexOf('label');
    if (j < 0) j = header.indexOf('labels');
    if (j < 0) j = header.findIndex((h) => h.toLowerCase() === 'label' || h.toLowerCase() === 'labels');
    if (j < 0) {
      throw new InputError(
        `expected a single column or one named 'label' or 'labels', found ${width} columns: ${columns}; choose one with ${path.basename(source)}#COLUMN`,
        where,
      );
    }
    indices = [j];
  }
  if (indices.length === 1) {
    const j = indices[0];
    return finish(
      body.map((r) => r.fields[j]),
      where,
      (i) => body[i].line,
    );
  }
  // Several columns: an N × K numeric matrix.
  const k = indices.length;
  const data = new Float64Array(body.length * k);
  body.forEach((r, i) => {
    indices.forEach((j, c) => {
      const v = r.fields[j];
      if (!isNumber(v)) {
        throw new InputError(`column '${header[j]}' must be numeric to be read with other columns; found '${v.slice(0, 40)}' on line ${r.line}`, where);
      }
      data[i * k + c] = toNumber(v);
    });
  });
  return { data, shape: [body.length, k], dtype: 'text' };
}
