// On-disk caching of decoded samples: one small file per sample under <dir>/<key>/, where `key` is a content hash
// of whatever determines the samples (source files, decoding options; see contentKey). A changed source gets a new
// key, so a stale cache is never read. Writes go to a temp file renamed into place, so
// concurrent workers and killed runs never leave a partial sample behind.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { threadId } from 'node:worker_threads';
import { join } from 'node:path';
import { allocate, itemSize, type DType } from '../graph/dtype.js';
import type { Dataset } from './dataset.js';
import type { Sample } from './tensor.js';
import type { NDArray } from '../graph/ndarray.js';

/** sha256 (first 16 hex digits) over strings and, for `{ file }` parts, the file's bytes. */
export function contentKey(...parts: readonly (string | { readonly file: string })[]): string {
  const h = createHash('sha256');
  for (const p of parts) {
    if (typeof p === 'string') h.update(`s${p.length}:${p}`);
    else {
      if (!existsSync(p.file) || !statSync(p.file).isFile()) throw new Error(`contentKey: ${p.file} is not a file`);
      h.update(`f:`).update(readFileSync(p.file));
    }
  }
  return h.digest('hex').slice(0, 16);
}

type Entry =
  | { readonly n: number }
  | { readonly dtype: DType; readonly shape: readonly number[]; readonly offset: number; readonly bytes: number };

/** Serializes a sample: a JSON header line, then the arrays' raw bytes. */
export function encodeSample(s: Sample): Buffer {
  const header: Record<string, Entry> = {};
  const chunks: Buffer[] = [];
  let offset = 0;
  for (const [k, v] of Object.entries(s)) {
    if (typeof v === 'number') header[k] = { n: v };
    else {
      const view = v.data as ArrayBufferView;
      const bytes = Buffer.from(view.buffer, view.byteOffset, view.byteLength);
      header[k] = { dtype: v.dtype, shape: v.shape, offset, bytes: bytes.length };
      chunks.push(bytes);
      offset += bytes.length;
    }
  }
  return Buffer.concat([Buffer.from(JSON.stringify(header) + '\n'), ...chunks]);
}

/**
 * Decodes a sample written by the disk cache (a JSON header line, then the raw array bytes); throws an Error naming
 * `source` when the header is missing or the data is truncated.
 */
export function decodeSample(buf: Buffer, source = '<sample>'): Sample {
  const nl = buf.indexOf(10);
  if (nl < 0) throw new Error(`${source}: not a cached sample (no header)`);
  const header = JSON.parse(buf.subarray(0, nl).toString()) as Record<string, Entry>;
  const body = buf.subarray(nl + 1);
  const out: Record<string, NDArray | number> = {};
  for (const [k, e] of Object.entries(header)) {
    if ('n' in e) out[k] = e.n;
    else {
      if (e.offset + e.bytes > body.length) throw new Error(`${source}: truncated cached sample ("${k}")`);
      const data = allocate(e.dtype, e.bytes / itemSize(e.dtype));
      new Uint8Array(data.buffer).set(body.subarray(e.offset, e.offset + e.bytes));
      out[k] = { dtype: e.dtype, shape: e.shape, data };
    }
  }
  return out;
}

/** Where {@link diskCache} stores samples: `<dir>/<key>/<index>.sample`. */
export interface DiskCacheOptions {
  readonly dir: string;
  /** Content hash of what determines the samples (e.g. contentKey({ file: path }, JSON.stringify(options))). */
  readonly key: string;
}

/**
 * Wraps a dataset so each decoded sample is stored in `<dir>/<key>/<index>.sample` the first time it is read and
 * loaded from there afterwards (across runs and processes). The wrapped dataset must be deterministic (no
 * `ctx.random()`): put augmentation after the cache. `hits`/`misses` count this process's reads.
 */
export function diskCache(
  source: Dataset,
  o: DiskCacheOptions,
): Dataset & { readonly hits: number; readonly misses: number } {
  if (!/^[0-9A-Za-z_-]+$/.test(o.key)) throw new Error(`diskCache: key "${o.key}" must be a file-name-safe hash`);
  const folder = join(o.dir, o.key);
  mkdirSync(folder, { recursive: true });
  let hits = 0;
  let misses = 0;
  return {
    length: source.length,
    collate: source.collate,
    batchTransform: source.batchTransform,
    describe: source.describe,
    get hits() {
      return hits;
    },
    get misses() {
      return misses;
    },
    async get(i, ctx) {
      const path = join(folder, `${i}.sample`);
      if (existsSync(path)) {
        hits++;
        return decodeSample(readFileSync(path), path);
      }
      misses++;
      const s = await source.get(i, ctx);
      // temp + rename: readers never see a partial file; the name is unique per process and thread
      const tmp = `${path}.${process.pid}.${threadId}.tmp`;
      writeFileSync(tmp, encodeSample(s));
      renameSync(tmp, path);
      return s;
    },
  };
}
