/**
 * Structural check of Arrow IPC bytes before apache-arrow decodes them.
 *
 * apache-arrow trusts the flatbuffer metadata it reads: a corrupt length in a
 * schema (say, 2 billion fields) makes it allocate until the process dies.
 * pyarrow verifies every flatbuffer first; so does this module, for the
 * tables the IPC format uses (Footer, Message, Schema, Field, RecordBatch,
 * DictionaryBatch and the type tables), following the Arrow format's
 * Schema.fbs / Message.fbs / File.fbs: every offset, vtable, string and vector
 * must lie inside its buffer, the message framing must fit the file, and
 * record batch lengths and buffer regions must be plausible. Anything else
 * is an InputError naming the file, what was expected and what was found.
 */
import { InputError } from '../core/errors.js';

// ---------------------------------------------------------------------------
// Flatbuffer schema descriptions (field index → what is stored there)

type FieldSpec =
  | { readonly kind: 'scalar'; readonly size: number }
  | { readonly kind: 'string' }
  | { readonly kind: 'table'; readonly table: () => TableSpec }
  | { readonly kind: 'tables'; readonly table: () => TableSpec }
  | { readonly kind: 'structs'; readonly size: number }
  | { readonly kind: 'scalars'; readonly size: number }
  /** A union value; its type is the ubyte field just before it. */
  | { readonly kind: 'union'; readonly types: (type: number) => TableSpec | undefined };

interface TableSpec {
  readonly name: string;
  readonly fields: readonly FieldSpec[];
}

const s = (size: number): FieldSpec => ({ kind: 'scalar', size });
const STRING: FieldSpec = { kind: 'string' };

const KEY_VALUE: TableSpec = { name: 'KeyValue', fields: [STRING, STRING] };
const SCALARS_ONLY = (name: string): TableSpec => ({ name, fields: [] });
const INT: TableSpec = { name: 'Int', fields: [s(4), s(1)] };
const TIMESTAMP: TableSpec = { name: 'Timestamp', fields: [s(2), STRING] };
const UNION: TableSpec = { name: 'Union', fields: [s(2), { kind: 'scalars', size: 4 }] };

/** Type union members: only Timestamp and Union hold anything but scalars. */
function typeTable(type: number): TableSpec | undefined {
  if (type === 10) return TIMESTAMP;
  if (type === 14) return UNION;
  if (type === 2) return INT;
  return type >= 1 && type <= 26 ? SCALARS_ONLY(`Type ${type}`) : undefined;
}

const DICTIONARY_ENCODING: TableSpec = {
  name: 'DictionaryEncoding',
  fields: [s(8), { kind: 'table', table: () => INT }, s(1), s(2)],
};

const FIELD: TableSpec = {
  name: 'Field',
  fields: [
    STRING, // name
    s(1), // nullable
    s(1), // type_type
    { kind: 'union', types: typeTable }, // type
    { kind: 'table', table: () => DICTIONARY_ENCODING },
    { kind: 'tables', table: () => FIELD }, // children
    { kind: 'tables', table: () => KEY_VALUE }, // custom_metadata
  ],
};

const SCHEMA: TableSpec = {
  name: 'Schema',
  fields: [s(2), { kind: 'tables', table: () => FIELD }, { kind: 'tables', table: () => KEY_VALUE }, { kind: 'scalars', size: 8 }],
};

const RECORD_BATCH: TableSpec = {
  name: 'RecordBatch',
  fields: [
    s(8), // length
    { kind: 'structs', size: 16 }, // nodes (FieldNode)
    { kind: 'structs', size: 16 }, // buffers (Buffer)
    { kind: 'table', table: () => SCALARS_ONLY('BodyCompression') },
    { kind: 'scalars', size: 8 }, // variadicBufferCounts
  ],
};

const DICTIONARY_BATCH: TableSpec = { name: 'DictionaryBatch', fields: [s(8), { kind: 'table', table: () => RECORD_BATCH }, s(1)] };

function messageHeader(type: number): TableSpec | undefined {
  return type === 1 ? SCHEMA : type === 2 ? DICTIONARY_BATCH : type === 3 ? RECORD_BATCH : undefined;
}

const MESSAGE: TableSpec = {
  name: 'Message',
  fields: [s(2), s(1), { kind: 'union', types: messageHeader }, s(8), { kind: 'tables', table: () => KEY_VALUE }],
};

const FOOTER: TableSpec = {
  name: 'Footer',
  fields: [s(2), { kind: 'table', table: () => SCHEMA }, { kind: 'structs', size: 24 }, { kind: 'structs', size: 24 }, { kind: 'tables', table: () => KEY_VALUE }],
};

// ---------------------------------------------------------------------------
// Flatbuffer verifier

class Bad extends Error {}

const MAX_DEPTH = 64;
const MAX_TABLES = 1_000_000;

/** A verified flatbuffer inside `bytes[start, end)`; positions are absolute. */
class Flat {
  private tables = 0;
  private readonly dv: DataView;
  constructor(
    readonly bytes: Uint8Array,
    readonly start: number,
    readonly end: number,
  ) {
    this.dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  private need(pos: number, size: number, what: string): void {
    if (pos < this.start || pos + size > this.end) throw new Bad(`${what} points outside its ${this.end - this.start}-byte metadata`);
  }

  u8(pos: number): number {
    return this.bytes[pos];
  }
  u16(pos: number): number {
    return this.dv.getUint16(pos, true);
  }
  i32(pos: number): number {
    return this.dv.getInt32(pos, true);
  }
  u32(pos: number): number {
    return this.dv.getUint32(pos, true);
  }
  i64(pos: number): number {
    const v = this.dv.getBigInt64(pos, true);
    if (v > BigInt(Number.MAX_SAFE_INTEGER) || v < -BigInt(Number.MAX_SAFE_INTEGER)) throw new Bad(`a 64-bit value (${v}) is beyond any real size`);
    return Number(v);
  }

  root(spec: TableSpec): number {
    this.need(this.start, 4, 'the root offset');
    const pos = this.start + this.u32(this.start);
    this.table(pos, spec, 0);
    return pos;
  }

  /** Absolute position of field `i` of the table at `pos`, or -1 when absent. */
  field(pos: number, i: number): number {
    const vt = pos - this.i32(pos);
    const vlen = this.u16(vt);
    if (4 + 2 * i >= vlen) return -1;
    const o = this.u16(vt + 4 + 2 * i);
    return o === 0 ? -1 : pos + o;
  }

  /** Target of the uoffset stored at `at`. */
  private deref(at: number, what: string): number {
    this.need(at, 4, what);
    const target = at + this.u32(at);
    this.need(target, 4, what);
    return target;
  }

  vectorLength(at: number, elemSize: number, what: string): { base: number; length: number } {
    const v = this.deref(at, what);
    const length = this.u32(v);
    if (length * elemSize > this.end - (v + 4)) throw new Bad(`${what} claims ${length} elements, more than its metadata can hold`);
    return { base: v + 4, length };
  }

  table(pos: number, spec: TableSpec, depth: number): void {
    if (depth > MAX_DEPTH) throw new Bad(`${spec.name} tables nest deeper than ${MAX_DEPTH} levels`);
    if (++this.tables > MAX_TABLES) throw new Bad(`more than ${MAX_TABLES} metadata tables`);
    this.need(pos, 4, `a ${spec.name} table`);
    const vt = pos - this.i32(pos);
    this.need(vt, 4, `the vtable of a ${spec.name} table`);
    const vlen = this.u16(vt);
    const tlen = this.u16(vt + 2);
    if (vlen < 4 || vlen % 2 !== 0) throw new Bad(`the vtable of a ${spec.name} table has an invalid size ${vlen}`);
    this.need(vt, vlen, `the vtable of a ${spec.name} table`);
    this.need(pos, Math.max(4, tlen), `a ${spec.name} table`);
    spec.fields.forEach((f, i) => {
      const at = this.field(pos, i);
      if (at < 0) return;
      const what = `field ${i} of a ${spec.name} table`;
      if (at + 1 > pos + tlen) throw new Bad(`${what} lies outside the table`);
      switch (f.kind) {
        case 'scalar':
          this.need(at, f.size, what);
          break;
        case 'string': {
          const { base, length } = this.vectorLength(at, 1, what);
          this.need(base, length + 1, what);
          break;
        }
        case 'table':
          this.table(this.deref(at, what), f.table(), depth + 1);
          break;
        case 'tables': {
          const { base, length } = this.vectorLength(at, 4, what);
          for (let k = 0; k < length; k++) this.table(this.deref(base + 4 * k, what), f.table(), depth + 1);
          break;
        }
        case 'structs':
        case 'scalars':
          this.vectorLength(at, f.size, what);
          break;
        case 'union': {
          const tAt = this.field(pos, i - 1);
          const type = tAt < 0 ? 0 : this.u8(tAt);
          const sub = f.types(type);
          if (!sub) throw new Bad(`a ${spec.name} table holds an unknown union type ${type}`);
          this.table(this.deref(at, what), sub, depth + 1);
          break;
        }
      }
    });
  }
}

// ---------------------------------------------------------------------------
// IPC framing

const MAX_ROWS = 2 ** 31 - 1;

interface MessageInfo {
  readonly headerType: number;
  readonly end: number;
}

/**
 * Verifies one encapsulated message at `p` (continuation marker or legacy
 * length prefix, flatbuffer, body) that must end by `limit`. Returns null at
 * an end-of-stream marker.
 */
function verifyMessage(bytes: Uint8Array, p: number, limit: number, index: number): MessageInfo | null {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const where = `message ${index} at byte ${p}`;
  if (p + 4 > limit) throw new Bad(`${where}: expected a message length, found the end of the data`);
  let len = dv.getInt32(p, true);
  let meta = p + 4;
  if (len === -1) {
    if (p + 8 > limit) throw new Bad(`${where}: expected a message length after the continuation marker, found the end of the data`);
    len = dv.getInt32(p + 4, true);
    meta = p + 8;
  }
  if (len === 0) return null;
  if (len < 0 || meta + len > limit) {
    throw new Bad(`${where}: expected ${len} metadata bytes, found ${Math.max(0, limit - meta)}`);
  }
  const fb = new Flat(bytes, meta, meta + len);
  const root = fb.root(MESSAGE);
  const htAt = fb.field(root, 1);
  const headerType = htAt < 0 ? 0 : fb.u8(htAt);
  if (headerType < 1 || headerType > 3) {
    throw new Bad(`${where}: expected a schema, record batch or dictionary batch message, found header type ${headerType}${headerType === 4 || headerType === 5 ? ' (a tensor)' : ''}`);
  }
  const blAt = fb.field(root, 3);
  const bodyLength = blAt < 0 ? 0 : fb.i64(blAt);
  const bodyStart = meta + len;
  if (bodyLength < 0 || bodyStart + bodyLength > limit) {
    throw new Bad(`${where}: expected a ${bodyLength}-byte body, found ${Math.max(0, limit - bodyStart)} bytes`);
  }
  if (headerType !== 1) {
    const hAt = fb.field(root, 2);
    if (hAt < 0) throw new Bad(`${where}: the message has no header`);
    let batch = hAt + fb.u32(hAt);
    if (headerType === 2) {
      const dAt = fb.field(batch, 1);
      if (dAt < 0) throw new Bad(`${where}: the dictionary batch has no data`);
      batch = dAt + fb.u32(dAt);
    }
    verifyBatch(fb, batch, bytes, bodyStart, bodyLength, where);
  }
  return { headerType, end: bodyStart + bodyLength };
}

function verifyBatch(fb: Flat, batch: number, bytes: Uint8Array, bodyStart: number, bodyLength: number, where: string): void {
  const lAt = fb.field(batch, 0);
  const length = lAt < 0 ? 0 : fb.i64(lAt);
  if (length < 0 || length > MAX_ROWS) throw new Bad(`${where}: a record batch of ${length} rows`);
  const nAt = fb.field(batch, 1);
  if (nAt >= 0) {
    const { base, length: count } = fb.vectorLength(nAt, 16, 'the field nodes');
    for (let k = 0; k < count; k++) {
      const n = fb.i64(base + 16 * k);
      const nulls = fb.i64(base + 16 * k + 8);
      if (n < 0 || n > MAX_ROWS || nulls < 0 || nulls > n) throw new Bad(`${where}: field node ${k} has length ${n} and ${nulls} nulls`);
    }
  }
  const compressed = fb.field(batch, 3) >= 0;
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const bAt = fb.field(batch, 2);
  if (bAt >= 0) {
    const { base, length: count } = fb.vectorLength(bAt, 16, 'the buffers');
    for (let k = 0; k < count; k++) {
      const off = fb.i64(base + 16 * k);
      const len = fb.i64(base + 16 * k + 8);
      if (off < 0 || len < 0 || off + len > bodyLength) {
        throw new Bad(`${where}: buffer ${k} spans bytes ${off}..${off + len} of a ${bodyLength}-byte body`);
      }
      if (compressed && len > 0) {
        if (len < 8) throw new Bad(`${where}: compressed buffer ${k} has ${len} bytes, fewer than its 8-byte length prefix`);
        const raw = dv.getBigInt64(bodyStart + off, true);
        if (raw < -1n || raw > 2n ** 40n) throw new Bad(`${where}: compressed buffer ${k} claims ${raw} uncompressed bytes`);
      }
    }
  }
}

function verifyStream(bytes: Uint8Array, start: number, limit: number): void {
  let p = start;
  let index = 0;
  while (p < limit) {
    const info = verifyMessage(bytes, p, limit, index);
    if (!info) return;
    if (index === 0 && info.headerType !== 1) throw new Bad('expected a schema message first, found a batch');
    if (index > 0 && info.headerType === 1) throw new Bad(`message ${index}: expected a record batch or dictionary batch, found a second schema`);
    index++;
    // Messages are 8-byte aligned; the end of a body is where the next one starts.
    p = info.end;
  }
  if (index === 0) throw new Bad('expected a schema message, found none');
}

function verifyFile(bytes: Uint8Array): void {
  const len = bytes.length;
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const footerLen = dv.getInt32(len - 10, true);
  const footerStart = len - 10 - footerLen;
  if (footerLen <= 0 || footerStart < 8) throw new Bad(`expected a footer length between 1 and ${len - 18}, found ${footerLen}`);
  const fb = new Flat(bytes, footerStart, footerStart + footerLen);
  const root = fb.root(FOOTER);
  if (fb.field(root, 1) < 0) throw new Bad('the footer has no schema');
  let index = 0;
  for (const slot of [2, 3]) {
    const at = fb.field(root, slot);
    if (at < 0) continue;
    const { base, length } = fb.vectorLength(at, 24, slot === 2 ? 'the dictionary blocks' : 'the record batch blocks');
    for (let k = 0; k < length; k++) {
      const off = fb.i64(base + 24 * k);
      const metaLen = fb.i32(base + 24 * k + 8);
      const bodyLen = fb.i64(base + 24 * k + 16);
      const end = off + metaLen + bodyLen;
      if (off < 8 || metaLen <= 0 || bodyLen < 0 || end > footerStart) {
        throw new Bad(`block ${k} spans bytes ${off}..${end}, outside the data before the footer (8..${footerStart})`);
      }
      const info = verifyMessage(bytes, off, end, index++);
      if (!info || info.headerType === 1) throw new Bad(`block ${k} at byte ${off}: expected a record batch or dictionary batch`);
    }
  }
}

/**
 * Throws an InputError unless `bytes` is a structurally sound Arrow IPC file
 * (`kind` file: magics and footer checked by the caller's sniffing) or stream.
 */
export function verifyArrowIpc(bytes: Uint8Array, kind: 'file' | 'stream', source: string): void {
  try {
    if (kind === 'file') verifyFile(bytes);
    else verifyStream(bytes, 0, bytes.length);
  } catch (err) {
    if (err instanceof Bad || err instanceof RangeError) {
      const what = kind === 'file' ? 'Arrow IPC file (Feather v2)' : 'Arrow IPC stream';
      throw new InputError(`corrupt or truncated ${what}: expected valid Arrow metadata; ${err.message}`, source);
    }
    throw err;
  }
}
