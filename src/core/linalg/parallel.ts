/**
 * The WebAssembly runtime of the Gram kernels: backend and thread settings,
 * the module (assembled from wasm/gram.wat at build time), one shared wasm
 * memory with a small allocator, and a pool of worker threads that run the
 * same module on that memory.
 *
 * This is the only file of the numeric core that touches Node's runtime
 * (node:os, node:v8, node:worker_threads); it never reads `process`.
 *
 * Synchronous parallelism: a Gram call stays an ordinary synchronous
 * function. For each packed panel the main thread publishes a generation in
 * a control block of the shared memory, works on the tasks of that
 * generation itself, then blocks in Atomics.wait until the workers have
 * finished theirs (the protocol is in gram.wat, function `run`). Workers are
 * started lazily, reused across calls and unref()ed, so they never keep the
 * process alive.
 *
 * Reproducibility: every 4 × 4 tile of G is accumulated by one thread over
 * the whole panel in a fixed order, so the result does not depend on the
 * thread count or on which thread ran which task: 1 thread and 8 threads give
 * the same bits. The module variant ("fma" with relaxed-SIMD multiply-add
 * where the engine accepts it, else "plain") is chosen once per process.
 */
import { Buffer } from 'node:buffer';
import { availableParallelism } from 'node:os';
import { setFlagsFromString } from 'node:v8';
import { Worker } from 'node:worker_threads';
import * as gramBytes from './wasm/gram-bytes.generated.js';

// The project's lib (ES2022, no DOM) declares no WebAssembly: the little used here.
interface WasmMemory {
  readonly buffer: ArrayBuffer | SharedArrayBuffer;
  grow(pages: number): number;
}
type WasmModule = object;
declare const WebAssembly: {
  validate(bytes: Uint8Array): boolean;
  Module: new (bytes: Uint8Array) => WasmModule;
  Instance: new (module: WasmModule, imports: object) => { readonly exports: object };
  Memory: new (descriptor: { initial: number; maximum: number; shared: boolean }) => WasmMemory;
};

// ---------------------------------------------------------------------------
// Settings.

/** `js`: the TypeScript kernels; `wasm`: WebAssembly SIMD (an error if unavailable); `auto`: wasm when available. */
export type LinalgBackend = 'js' | 'wasm' | 'auto';

let backendSetting: LinalgBackend = 'auto';
/** Threads for one Gram (the main thread included); 0 = os.availableParallelism(). */
let threadSetting = 0;

/**
 * Chooses the Gram kernels. 'auto' (the default) uses WebAssembly SIMD when
 * the engine supports it and the TypeScript kernels otherwise; 'wasm' throws
 * here if WebAssembly SIMD is unavailable; 'js' forces the TypeScript kernels.
 */
export function setLinalgBackend(backend: LinalgBackend): void {
  if (backend !== 'js' && backend !== 'wasm' && backend !== 'auto') {
    throw new RangeError(`setLinalgBackend: unknown backend ${JSON.stringify(backend)} (expected js, wasm or auto)`);
  }
  if (backend === 'wasm' && loadRuntime() === null) {
    throw new Error(`setLinalgBackend: WebAssembly SIMD is not available${loadError ? ` (${loadError})` : ''}`);
  }
  backendSetting = backend;
}

/** The backend as set (before resolving 'auto'). */
export function linalgBackendSetting(): LinalgBackend {
  return backendSetting;
}

/** The backend Gram calls will use now: 'wasm' or 'js' ('auto' resolved). */
export function getLinalgBackend(): 'js' | 'wasm' {
  return backendSetting !== 'js' && loadRuntime() !== null ? 'wasm' : 'js';
}

/**
 * Threads for the WebAssembly Gram kernels, the calling thread included
 * (1 = no worker threads). Default: os.availableParallelism(). Lowering it
 * stops the surplus workers.
 */
export function setLinalgThreads(n: number): void {
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`setLinalgThreads: expected an integer ≥ 1, got ${n}`);
  threadSetting = n;
  if (runtime) resizePool(runtime, Math.min(runtime.workers.length, n - 1));
}

/** The thread count in force (see setLinalgThreads). */
export function getLinalgThreads(): number {
  if (threadSetting > 0) return threadSetting;
  try {
    return Math.max(1, availableParallelism());
  } catch {
    return 1;
  }
}

// ---------------------------------------------------------------------------
// Tuning. A panel packs KC vectors; the A operands of MB groups (MB · KC · 32
// bytes = 128 KiB) stay in L2 while B groups (8 KiB) pass through L1.

/** Vectors (rows of F for FᵀF, columns for F Fᵀ) per packed panel. */
export const KC = 256;
/** Row groups per L2 block in syrk. */
const MB = 16;
/** Tasks per thread and panel: small enough for dynamic balancing, large enough to amortise claims. */
const TASKS_PER_THREAD = 8;
const MAX_TASKS = 1024;

/** Start workers for a call of at least this many vector·m² multiply-adds (rows · D² for FᵀF). */
let spawnWork = 2e9;
/** Use running workers for a panel of at least this many vector·m² multiply-adds. */
let panelWork = 8e6;
/** Test hook: false leaves every task to the workers. */
let mainParticipates = true;

// ---------------------------------------------------------------------------
// The module.

/** Exports of gram.wat (addresses are byte offsets in the shared memory). */
export interface GramExports {
  pack_f32(src: number, dst: number, len: number, m: number, colsum: number): void;
  pack_f64(src: number, dst: number, len: number, m: number, colsum: number): void;
  pack_t_f32(src: number, dst: number, len: number, m: number): void;
  pack_t_f64(src: number, dst: number, len: number, m: number): void;
  syrk(p: number, len: number, g: number, ldg: number, jg0: number, jg1: number, mb: number): void;
  run(ctl: number, gen: number): void;
}

export type WasmVariant = 'fma' | 'plain';

/** Control block (i32 slots, see gram.wat `run`). */
const CTL = 0;
const GEN = 0;
const NEXT = 1;
const NTASKS = 2;
const DONE = 3;
const ERR = 4;
const ARG_P = 5;
const ARG_LEN = 6;
const ARG_G = 7;
const ARG_LDG = 8;
const ARG_MB = 9;
/** Workers that have instantiated the module (for tests). */
const READY = 10;
const TASKS = 16;
/** The heap starts after the control block's page. */
const HEAP_START = 65536;
const PAGE = 65536;
/** Pages: 4 GiB − 64 KiB keeps every address a valid unsigned i32 with room for the end pointers. */
const MAX_PAGES = 65535;
/** Added to DONE by a failing worker so that the waiting main thread wakes at once. */
const DONE_ERROR = 0x40000000;

/** What a worker thread runs (plain JavaScript: it is evaluated, not imported, so it works from src/ and dist/ alike). */
const WORKER_SOURCE = `
'use strict';
const { workerData } = require('node:worker_threads');
const { module, memory, ctl } = workerData;
const I = new Int32Array(memory.buffer, ctl, 16);
const run = new WebAssembly.Instance(module, { env: { memory } }).exports.run;
Atomics.add(I, ${READY}, 1);
let seen = Atomics.load(I, ${GEN});
for (;;) {
  try {
    run(ctl, seen);
  } catch (err) {
    Atomics.store(I, ${ERR}, 1);
    Atomics.add(I, ${DONE}, ${DONE_ERROR});
    Atomics.notify(I, ${DONE});
    throw err;
  }
  Atomics.wait(I, ${GEN}, seen);
  seen = Atomics.load(I, ${GEN});
}
`;

export interface Runtime {
  readonly variant: WasmVariant;
  readonly module: WasmModule;
  readonly memory: WasmMemory;
  readonly exports: GramExports;
  readonly heap: Heap;
  readonly workers: Worker[];
  /** Generation counter of the control block (main thread's copy). */
  gen: number;
  /** Two panel buffers (double buffering: pack one while the other is in use) and their size in bytes. */
  panels: [number, number];
  panelBytes: number;
  broken: boolean;
}

let runtime: Runtime | null | undefined;
let loadError = '';
/** Test hook: force a variant on the next load. */
let forcedVariant: WasmVariant | undefined;

function decode(base64: string): Uint8Array {
  return new Uint8Array(Buffer.from(base64, 'base64'));
}

function chooseVariant(): { variant: WasmVariant; bytes: Uint8Array } | null {
  const plain = decode(gramBytes.plain);
  if (forcedVariant !== 'plain' && gramBytes.fma !== undefined) {
    const fma = decode(gramBytes.fma);
    if (!WebAssembly.validate(fma)) {
      // Node 20 ships relaxed SIMD behind a flag; the flag only adds opcodes.
      try {
        setFlagsFromString('--experimental-wasm-relaxed-simd');
      } catch {
        // not fatal: fall back to the plain variant
      }
    }
    if (WebAssembly.validate(fma)) return { variant: 'fma', bytes: fma };
    if (forcedVariant === 'fma') return null;
  }
  return WebAssembly.validate(plain) ? { variant: 'plain', bytes: plain } : null;
}

/** The runtime, loaded on first use; null when WebAssembly SIMD or shared memory is unavailable. */
export function loadRuntime(): Runtime | null {
  if (runtime !== undefined) return runtime !== null && runtime.broken ? null : runtime;
  runtime = null;
  try {
    if (typeof WebAssembly !== 'object' || typeof SharedArrayBuffer !== 'function') {
      loadError = 'no WebAssembly or SharedArrayBuffer';
      return null;
    }
    const chosen = chooseVariant();
    if (chosen === null) {
      loadError = 'the engine rejects the SIMD module';
      return null;
    }
    const module = new WebAssembly.Module(chosen.bytes);
    let memory: WasmMemory | undefined;
    for (const maximum of [MAX_PAGES, 32768, 16384]) {
      try {
        memory = new WebAssembly.Memory({ initial: 2, maximum, shared: true });
        break;
      } catch {
        // address space reservation refused: try a smaller maximum
      }
    }
    if (memory === undefined) {
      loadError = 'cannot reserve a shared WebAssembly memory';
      return null;
    }
    const instance = new WebAssembly.Instance(module, { env: { memory } });
    runtime = {
      variant: chosen.variant,
      module,
      memory,
      exports: instance.exports as unknown as GramExports,
      heap: new Heap(memory, HEAP_START),
      workers: [],
      gen: 0,
      panels: [0, 0],
      panelBytes: 0,
      broken: false,
    };
    return runtime;
  } catch (err) {
    loadError = err instanceof Error ? err.message : String(err);
    runtime = null;
    return null;
  }
}

/** The runtime if the backend setting allows it (auto or wasm) and it loads. */
export function activeRuntime(): Runtime | null {
  return backendSetting === 'js' ? null : loadRuntime();
}

/** After a kernel failure: stop the workers and use the TypeScript kernels from now on. */
function markBroken(rt: Runtime): void {
  rt.broken = true;
  resizePool(rt, 0);
}

// ---------------------------------------------------------------------------
// Memory: a first-fit allocator over the shared memory (64-byte aligned
// blocks), growing the memory when nothing fits. Memory is never returned
// to the system, only reused.

export class Heap {
  /** Free blocks [start, end), sorted, coalesced. */
  private readonly free: { start: number; end: number }[] = [];
  private cachedBuffer: ArrayBuffer | SharedArrayBuffer | undefined;
  private f64View: Float64Array = new Float64Array(0);
  private f32View: Float32Array = new Float32Array(0);

  constructor(
    private readonly memory: WasmMemory,
    start: number,
  ) {
    const end = memory.buffer.byteLength;
    if (end > start) this.free.push({ start, end });
  }

  /** A block of at least `bytes` bytes (64-byte aligned); throws a RangeError when the memory cannot grow. */
  alloc(bytes: number): number {
    const size = Math.max(64, Math.ceil(bytes / 64) * 64);
    for (;;) {
      for (let i = 0; i < this.free.length; i++) {
        const b = this.free[i];
        if (b.end - b.start >= size) {
          const ptr = b.start;
          b.start += size;
          if (b.start === b.end) this.free.splice(i, 1);
          return ptr;
        }
      }
      this.grow(size);
    }
  }

  release(ptr: number, bytes: number): void {
    const size = Math.max(64, Math.ceil(bytes / 64) * 64);
    const block = { start: ptr, end: ptr + size };
    let i = 0;
    while (i < this.free.length && this.free[i].start < ptr) i++;
    this.free.splice(i, 0, block);
    // Coalesce with the neighbours.
    if (i + 1 < this.free.length && this.free[i].end === this.free[i + 1].start) {
      this.free[i].end = this.free[i + 1].end;
      this.free.splice(i + 1, 1);
    }
    if (i > 0 && this.free[i - 1].end === this.free[i].start) {
      this.free[i - 1].end = this.free[i].end;
      this.free.splice(i, 1);
    }
  }

  private grow(size: number): void {
    const top = this.memory.buffer.byteLength;
    const last = this.free[this.free.length - 1];
    const tail = last !== undefined && last.end === top ? last.end - last.start : 0;
    const pages = Math.ceil((size - tail) / PAGE);
    this.memory.grow(pages); // RangeError past the maximum
    const end = this.memory.buffer.byteLength;
    if (tail > 0) last.end = end;
    else this.free.push({ start: top, end });
  }

  /** Float64 view of the whole memory (refreshed after growth). */
  f64(): Float64Array {
    this.refresh();
    return this.f64View;
  }

  f32(): Float32Array {
    this.refresh();
    return this.f32View;
  }

  private refresh(): void {
    const buffer = this.memory.buffer;
    if (buffer !== this.cachedBuffer) {
      this.cachedBuffer = buffer;
      this.f64View = new Float64Array(buffer);
      this.f32View = new Float32Array(buffer);
    }
  }
}

/** Make sure both panel buffers hold `bytes`. */
export function ensurePanels(rt: Runtime, bytes: number): void {
  if (rt.panelBytes >= bytes) return;
  if (rt.panelBytes > 0) {
    rt.heap.release(rt.panels[0], rt.panelBytes);
    rt.heap.release(rt.panels[1], rt.panelBytes);
    rt.panelBytes = 0;
  }
  const a = rt.heap.alloc(bytes);
  let b: number;
  try {
    b = rt.heap.alloc(bytes);
  } catch (err) {
    rt.heap.release(a, bytes);
    throw err;
  }
  rt.panels = [a, b];
  rt.panelBytes = bytes;
}

// ---------------------------------------------------------------------------
// Worker pool.

function resizePool(rt: Runtime, count: number): void {
  while (rt.workers.length > count) void rt.workers.pop()!.terminate();
  while (rt.workers.length < count) {
    let worker: Worker;
    try {
      worker = new Worker(WORKER_SOURCE, {
        eval: true,
        workerData: { module: rt.module, memory: rt.memory, ctl: CTL },
        name: 'rank-models linalg',
      });
    } catch {
      return; // no threads here: the main thread does the work
    }
    worker.unref();
    const forget = (): void => {
      const i = rt.workers.indexOf(worker);
      if (i >= 0) rt.workers.splice(i, 1);
    };
    // A worker that fails to start held no task; one that fails in a task
    // has already flagged ERR in the control block.
    worker.on('error', forget);
    worker.on('exit', forget);
    rt.workers.push(worker);
  }
}

/**
 * Whether a call of `totalWork` (vectors · m², 0 if unknown) with panels of
 * `panelVectors` vectors should use worker threads, starting them if needed.
 */
export function useWorkers(rt: Runtime, m: number, panelVectors: number, totalWork: number): boolean {
  const threads = getLinalgThreads();
  if (threads <= 1 || panelVectors * m * m < panelWork) return false;
  if (rt.workers.length < threads - 1 && totalWork >= spawnWork) resizePool(rt, threads - 1);
  return rt.workers.length > 0;
}

/**
 * Runs syrk (G += Pᵀ P on the upper tiles) on a stream of packed panels.
 * Double-buffered when parallel: the caller packs the next panel into
 * `buffer()` while the workers compute the previous one, then `submit`s it;
 * `finish()` waits for the last panel. Single-threaded, `submit` computes at
 * once.
 */
export class SyrkPipeline {
  private turn = 0;
  private inFlight = false;
  private readonly ctl: Int32Array;

  constructor(
    private readonly rt: Runtime,
    private readonly g: number,
    private readonly m: number,
    private readonly parallel: boolean,
  ) {
    this.ctl = new Int32Array(rt.memory.buffer, CTL, TASKS + MAX_TASKS + 1);
  }

  /** The panel buffer to pack next. */
  buffer(): number {
    return this.rt.panels[this.turn];
  }

  /** Accumulate the panel just packed into buffer() (`len` vectors). */
  submit(len: number): void {
    const p = this.rt.panels[this.turn];
    this.turn ^= 1;
    const groups = this.m / 4;
    if (!this.parallel) {
      this.rt.exports.syrk(p, len, this.g, this.m * 8, 0, groups, MB);
      return;
    }
    this.join();
    this.publish(p, len, groups);
  }

  /** Wait until every submitted panel is accumulated. */
  finish(): void {
    this.join();
  }

  private publish(p: number, len: number, groups: number): void {
    const I = this.ctl;
    const rt = this.rt;
    const gen = rt.gen + 1;
    const tag = (gen & 0x7fff) << 16;
    // Close the claims first: a worker holding a stale NEXT can no longer
    // succeed, so it never runs a task with the arguments written below.
    Atomics.store(I, NEXT, tag | 0xffff);
    I[ARG_P] = p;
    I[ARG_LEN] = len;
    I[ARG_G] = this.g;
    I[ARG_LDG] = this.m * 8;
    I[ARG_MB] = MB;
    const threads = rt.workers.length + 1;
    const ntasks = Math.min(groups, threads * TASKS_PER_THREAD, MAX_TASKS);
    // Equal work per task: column group jg has jg + 1 tiles, so the first j
    // groups hold j(j + 1)/2 tiles.
    const total = (groups * (groups + 1)) / 2;
    I[TASKS] = 0;
    let prev = 0;
    for (let t = 1; t < ntasks; t++) {
      const target = (total * t) / ntasks;
      let j = Math.ceil((Math.sqrt(1 + 8 * target) - 1) / 2);
      j = Math.min(Math.max(j, prev + 1), groups - (ntasks - t));
      I[TASKS + t] = j;
      prev = j;
    }
    I[TASKS + ntasks] = groups;
    Atomics.store(I, NTASKS, ntasks);
    Atomics.store(I, DONE, 0);
    Atomics.store(I, ERR, 0);
    Atomics.store(I, NEXT, tag);
    Atomics.store(I, GEN, gen);
    rt.gen = gen;
    this.inFlight = true;
    Atomics.notify(I, GEN);
  }

  private join(): void {
    if (!this.inFlight) return;
    this.inFlight = false;
    const I = this.ctl;
    const rt = this.rt;
    try {
      if (mainParticipates || rt.workers.length === 0) rt.exports.run(CTL, rt.gen);
    } catch (err) {
      markBroken(rt);
      throw err;
    }
    const ntasks = Atomics.load(I, NTASKS);
    for (;;) {
      const done = Atomics.load(I, DONE);
      if (done >= ntasks) break;
      Atomics.wait(I, DONE, done);
    }
    if (Atomics.load(I, ERR) !== 0) {
      markBroken(rt);
      throw new Error('linalg: a Gram kernel failed in a worker thread');
    }
  }
}

// ---------------------------------------------------------------------------
// Test hooks (not part of the package API).

export const linalgTestHooks = {
  /** Work thresholds for starting and using workers (0, 0: always parallel when threads > 1). */
  setParallelThresholds(spawn: number, panel: number): void {
    spawnWork = spawn;
    panelWork = panel;
  },
  resetParallelThresholds(): void {
    spawnWork = 2e9;
    panelWork = 8e6;
  },
  /** Drop the runtime (terminating its workers); the next use reloads it, with `variant` if given. */
  reset(variant?: WasmVariant): void {
    if (runtime) resizePool(runtime, 0);
    runtime = undefined;
    forcedVariant = variant;
  },
  /** With false, the main thread only waits: every task runs on a worker (requires running workers). */
  setMainParticipates(on: boolean): void {
    mainParticipates = on;
  },
  /** Start the workers for the current thread setting now, as a large call would. */
  startWorkers(): void {
    const rt = loadRuntime();
    if (rt) resizePool(rt, getLinalgThreads() - 1);
  },
  /** Workers that have started and instantiated the module. */
  readyWorkers(): number {
    const rt = loadRuntime();
    return rt ? Atomics.load(new Int32Array(rt.memory.buffer, CTL, 16), READY) : 0;
  },
  info(): { variant: WasmVariant | undefined; workers: number; memoryBytes: number } {
    const rt = runtime ?? undefined;
    return { variant: rt?.variant, workers: rt?.workers.length ?? 0, memoryBytes: rt?.memory.buffer.byteLength ?? 0 };
  },
};
