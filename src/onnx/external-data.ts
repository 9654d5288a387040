/**
 * ONNX external data: initializer bytes kept in a side file (needed past the 2 GiB protobuf limit, and
 * useful for memory-mapping big weights). Tensors reference it with externalData {location, offset, length}
 * and dataLocation = 1.
 */
import {
  closeSync,
  fsyncSync,
  fstatSync,
  openSync,
  readFileSync,
  readSync,
  renameSync,
  rmSync,
  writeSync,
} from 'node:fs';
import { basename, dirname, isAbsolute, join, normalize, sep } from 'node:path';
import { tensorToTypedArray } from './decode.js';
import { decodeModel } from './decode.js';
import { encodeModel } from './encode.js';
import type { GraphProto, ModelProto, TensorProto } from './proto.js';

/** Where and how initializer bytes move out of the .onnx file into a side data file (ONNX external data). */
export interface ExternalDataOptions {
  /** File name of the data file, relative to the model file (e.g. 'model.onnx.data'). */
  location: string;
  /** Initializers with at least this many data bytes go to the data file (default 1024). */
  thresholdBytes?: number;
  /** Alignment of each tensor's offset in the data file (default 4096, page size, so ORT can mmap). */
  align?: number;
}

/** A model rewritten to reference external data, and where each tensor's bytes go in the data file. */
interface ExternalDataPlan {
  model: ModelProto;
  /** Byte ranges of the data file, in increasing offset order; gaps are zero padding. */
  chunks: { offset: number; bytes: Uint8Array }[];
  /** Size of the data file in bytes. */
  size: number;
}

function rawBytes(t: TensorProto): Uint8Array | undefined {
  if (t.rawData) return t.rawData;
  if (t.dataType === 8 || (!t.floatData && !t.int32Data && !t.int64Data && !t.doubleData && !t.uint64Data))
    return undefined;
  const a = tensorToTypedArray(t);
  return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
}

/** Moves initializer data of at least `thresholdBytes` to an external data layout (the input model is not modified). */
function planExternalData(m: ModelProto, opts: ExternalDataOptions): ExternalDataPlan {
  const threshold = opts.thresholdBytes ?? 1024;
  const align = opts.align ?? 4096;
  checkLocation(opts.location);
  const chunks: ExternalDataPlan['chunks'] = [];
  let size = 0;
  const initializer = m.graph.initializer.map((t): TensorProto => {
    if (t.dataLocation === 1) return t;
    const bytes = rawBytes(t);
    if (!bytes || bytes.length < threshold) return t;
    const offset = Math.ceil(size / align) * align;
    chunks.push({ offset, bytes });
    size = offset + bytes.length;
    const { rawData: _r, floatData: _f, int32Data: _i, int64Data: _l, doubleData: _d, uint64Data: _u, ...rest } = t;
    return {
      ...rest,
      externalData: [
        { key: 'location', value: opts.location },
        { key: 'offset', value: String(offset) },
        { key: 'length', value: String(bytes.length) },
      ],
      dataLocation: 1,
    };
  });
  const graph: GraphProto = { ...m.graph, initializer };
  return { model: { ...m, graph }, chunks, size };
}

/** Encodes a model whose large initializers live in `data` (to be stored as `opts.location` beside the model). */
export function encodeModelWithExternalData(
  m: ModelProto,
  opts: ExternalDataOptions,
): { model: Uint8Array; data: Uint8Array } {
  const plan = planExternalData(m, opts);
  const data = new Uint8Array(plan.size);
  for (const c of plan.chunks) data.set(c.bytes, c.offset);
  return { model: encodeModel(plan.model), data };
}

function writeAll(fd: number, bytes: Uint8Array, position: number): void {
  let done = 0;
  while (done < bytes.length)
    done += writeSync(fd, bytes, done, Math.min(bytes.length - done, 1 << 30), position + done);
}

function tempPath(path: string): string {
  return `${path}.tmp-${process.pid}-${Math.random().toString(36).slice(2, 10)}`;
}

/**
 * Writes `modelPath` and its data file (default `<model>.data`) atomically: each goes to a temp file, is
 * fsynced, then renamed into place (data first, then model). The data file is streamed, tensor by tensor,
 * so it may exceed what one buffer can hold.
 */
export function saveModelWithExternalData(
  modelPath: string,
  m: ModelProto,
  opts: Partial<ExternalDataOptions> = {},
): { dataPath: string; externalized: string[] } {
  const location = opts.location ?? `${basename(modelPath)}.data`;
  const plan = planExternalData(m, { ...opts, location });
  const dataPath = join(dirname(modelPath), location);
  const modelBytes = encodeModel(plan.model);
  const tmpData = tempPath(dataPath);
  const tmpModel = tempPath(modelPath);
  try {
    writeFileDurably(tmpData, (fd) => {
      for (const c of plan.chunks) writeAll(fd, c.bytes, c.offset);
    });
    writeFileDurably(tmpModel, (fd) => writeAll(fd, modelBytes, 0));
    renameSync(tmpData, dataPath);
    renameSync(tmpModel, modelPath);
  } catch (e) {
    rmSync(tmpData, { force: true });
    rmSync(tmpModel, { force: true });
    throw e;
  }
  syncDir(dirname(modelPath));
  const externalized = plan.model.graph.initializer
    .filter((t, i) => t !== m.graph.initializer[i])
    .map((t) => t.name ?? '');
  return { dataPath, externalized };
}

function writeFileDurably(path: string, body: (fd: number) => void): void {
  const fd = openSync(path, 'w');
  try {
    body(fd);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

function syncDir(dir: string): void {
  try {
    const fd = openSync(dir, 'r');
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  } catch {
    // directory fsync is not supported everywhere (e.g. Windows); the renames are still atomic
  }
}

function checkLocation(location: string): void {
  const n = normalize(location);
  if (location === '' || isAbsolute(location) || n === '..' || n.startsWith(`..${sep}`) || n.startsWith('../')) {
    throw new Error(`external data: location '${location}' must be a relative path inside the model's directory`);
  }
}

/** Where external bytes come from: a directory (the model file's), or a function returning a file's bytes. */
export type ExternalDataSource = string | ((location: string) => Uint8Array);

/** Parsed external data reference of a tensor. */
function externalRef(t: TensorProto): { location: string; offset: number; length: number | undefined } {
  const kv = new Map((t.externalData ?? []).map((e) => [e.key, e.value]));
  const what = `tensor '${t.name ?? ''}'`;
  const location = kv.get('location');
  if (!location) throw new Error(`external data: ${what} has no 'location'`);
  checkLocation(location);
  const num = (k: string): number | undefined => {
    const v = kv.get(k);
    if (v === undefined) return undefined;
    const n = Number(v);
    if (!/^\d+$/.test(v) || !Number.isSafeInteger(n)) throw new Error(`external data: ${what} has a bad '${k}' '${v}'`);
    return n;
  };
  return { location, offset: num('offset') ?? 0, length: num('length') };
}

/**
 * Returns a copy of `m` in which every tensor with external data (initializers, Constant/attribute tensors,
 * subgraphs) holds its bytes in rawData. Files are read once per tensor range, not whole, from a directory.
 */
export function loadExternalData(m: ModelProto, source: ExternalDataSource): ModelProto {
  const files = new Map<
    string,
    { readonly fd: number; readonly size: number } | { readonly bytes: Uint8Array; readonly size: number }
  >();
  const open = (location: string) => {
    let f = files.get(location);
    if (!f) {
      if (typeof source === 'string') {
        const path = join(source, location);
        let fd: number;
        try {
          fd = openSync(path, 'r');
        } catch (e) {
          throw new Error(`external data: cannot open '${path}': ${(e as Error).message}`);
        }
        f = { fd, size: fstatSync(fd).size };
      } else {
        const bytes = source(location);
        f = { bytes, size: bytes.length };
      }
      files.set(location, f);
    }
    return f;
  };
  const resolve = (t: TensorProto): TensorProto => {
    if (t.dataLocation !== 1) return t;
    const { location, offset, length } = externalRef(t);
    const f = open(location);
    const len = length ?? f.size - offset;
    if (offset + len > f.size || len < 0)
      throw new Error(
        `external data: tensor '${t.name ?? ''}' wants bytes [${offset}, ${offset + len}) of '${location}', which has ${f.size}`,
      );
    let rawData: Uint8Array;
    if ('bytes' in f) rawData = f.bytes.slice(offset, offset + len);
    else {
      rawData = new Uint8Array(len);
      let done = 0;
      while (done < len) {
        const n = readSync(f.fd, rawData, done, Math.min(len - done, 1 << 30), offset + done);
        if (n === 0) throw new Error(`external data: unexpected end of '${location}' reading tensor '${t.name ?? ''}'`);
        done += n;
      }
    }
    const { externalData: _e, dataLocation: _d, ...rest } = t;
    return { ...rest, rawData };
  };
  const graph = (g: GraphProto): GraphProto => ({
    ...g,
    initializer: g.initializer.map(resolve),
    node: g.node.map((n) => ({
      ...n,
      attribute: n.attribute.map((a) => ({
        ...a,
        ...(a.t ? { t: resolve(a.t) } : {}),
        ...(a.tensors ? { tensors: a.tensors.map(resolve) } : {}),
        ...(a.g ? { g: graph(a.g) } : {}),
        ...(a.graphs ? { graphs: a.graphs.map(graph) } : {}),
      })),
    })),
  });
  try {
    return { ...m, graph: graph(m.graph) };
  } finally {
    for (const f of files.values()) if ('fd' in f) closeSync(f.fd);
  }
}

/** Reads and decodes a model file, resolving external data relative to the file's directory. */
export function loadModelFile(path: string): ModelProto {
  return loadExternalData(decodeModel(readFileSync(path)), dirname(path));
}
