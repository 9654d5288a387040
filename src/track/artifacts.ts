// Content-addressed artifact files: <root>/sha256/<2 hex>/<62 hex>, written once (temp file, fsync, rename).
import { createHash, randomBytes } from 'node:crypto';
import {
  closeSync,
  existsSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readdirSync,
  readSync,
  renameSync,
  statSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import { hostname } from 'node:os';
import { extname, join, posix } from 'node:path';
import { pidAlive } from './pid.js';
import { TrackingError } from './types.js';

/** Default ceiling on one artifact (2 GiB); `LATHE_MAX_ARTIFACT_BYTES` or the store option changes it. */
export const DEFAULT_MAX_ARTIFACT_BYTES = 2 * 1024 ** 3;

/**
 * Checks a run-relative artifact path: relative, `/`-separated, no `..`/`.` segments, no control characters.
 * Returns it unchanged or throws a 400 TrackingError naming it.
 */
export function validateArtifactPath(path: string): string {
  const bad = (why: string): never => {
    throw new TrackingError(`artifact path '${path}' rejected: ${why}`, 400);
  };
  if (typeof path !== 'string' || path.length === 0) bad('empty');
  if (path.length > 512) bad('longer than 512 characters');
  // biome-ignore lint/suspicious/noControlCharactersInRegex: rejecting control characters (U+0000-U+001F) is the point
  if (/[\u0000-\u001f\\]/.test(path)) bad('control characters and backslashes are not allowed');
  if (path.startsWith('/') || /^[A-Za-z]:/.test(path)) bad('must be relative to the run');
  const parts = path.split('/');
  if (parts.some((p) => p === '..' || p === '.' || p === '')) bad("'..', '.' and empty segments are not allowed");
  if (posix.normalize(path) !== path) bad('not a normalized path');
  return path;
}

/** Where the content with this digest lives. */
export function blobPath(root: string, digest: string): string {
  if (!/^sha256:[0-9a-f]{64}$/.test(digest)) throw new TrackingError(`malformed artifact digest '${digest}'`, 400);
  const hex = digest.slice(7);
  return join(root, 'sha256', hex.slice(0, 2), hex.slice(2));
}

/** What an artifact is, from its extension: onnx, checkpoint, plot, report or file. */
export function artifactKind(path: string): string {
  const ext = extname(path).toLowerCase();
  if (ext === '.onnx') return 'onnx';
  if (['.safetensors', '.ckpt', '.pt', '.bin'].includes(ext)) return 'checkpoint';
  if (['.png', '.svg', '.jpg', '.jpeg', '.gif', '.webp'].includes(ext)) return 'plot';
  if (['.html', '.md', '.json', '.txt', '.csv', '.jsonl', '.yaml', '.yml'].includes(ext)) return 'report';
  return 'file';
}

function commit(root: string, tmp: string, digest: string): void {
  const dest = blobPath(root, digest);
  if (existsSync(dest)) {
    unlinkSync(tmp); // same content already stored: the store is write-once
    return;
  }
  mkdirSync(join(dest, '..'), { recursive: true });
  renameSync(tmp, dest);
}

/** 8 hex digits naming this host in temp file names (an artifact folder may be shared by several machines). */
const HOST_TAG = createHash('sha256').update(hostname()).digest('hex').slice(0, 8);

/** `<pid>-<random>-<host tag>`; files named `<pid>-<random>` (older writers) count as this host's. */
const TEMP_NAME = /^([0-9]+)-[0-9a-f]+(?:-([0-9a-f]{8}))?$/;

/** The name of a temp file that process `pid` of this host writes. */
export function tempFileName(pid: number = process.pid): string {
  return `${pid}-${randomBytes(6).toString('hex')}-${HOST_TAG}`;
}

function tempFile(root: string): { path: string; fd: number } {
  mkdirSync(join(root, 'tmp'), { recursive: true });
  const path = join(root, 'tmp', tempFileName());
  return { path, fd: openSync(path, 'wx') };
}

/**
 * Removes temp files left by artifact writers that are gone (a SIGKILL mid-upload leaves `<root>/tmp/<pid>-...`):
 * on this host, those whose pid is dead; from another host (its pid means nothing here), those untouched for
 * `foreignStaleMs` (default 24 h). Returns the paths removed. Never touches a live writer's file.
 */
export function sweepArtifactTemp(root: string, options: { readonly foreignStaleMs?: number } = {}): string[] {
  const dir = join(root, 'tmp');
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return []; // no temp folder yet
  }
  const removed: string[] = [];
  const now = Date.now();
  for (const name of names) {
    const m = TEMP_NAME.exec(name);
    if (!m) continue;
    const path = join(dir, name);
    const local = m[2] === undefined || m[2] === HOST_TAG;
    try {
      const gone = local
        ? Number(m[1]) !== process.pid && !pidAlive(Number(m[1]))
        : now - statSync(path).mtimeMs > (options.foreignStaleMs ?? 24 * 3600_000);
      if (!gone) continue;
      unlinkSync(path);
      removed.push(path);
    } catch {
      // removed meanwhile by another sweeper
    }
  }
  return removed;
}

/** Copies a file into the store (hashing as it copies); rejects files over `maxBytes` with 413. */
export function putFile(root: string, source: string, maxBytes: number): { digest: string; size: number } {
  let size: number;
  try {
    const st = statSync(source);
    if (!st.isFile()) throw new TrackingError(`artifact source '${source}' is not a file`, 400);
    size = st.size;
  } catch (err) {
    if (err instanceof TrackingError) throw err;
    throw new TrackingError(`artifact source '${source}' cannot be read: ${(err as Error).message}`, 400);
  }
  if (size > maxBytes)
    throw new TrackingError(`artifact '${source}' is ${size} bytes, over the limit of ${maxBytes} bytes`, 413);
  const hash = createHash('sha256');
  const tmp = tempFile(root);
  const src = openSync(source, 'r');
  try {
    const buf = Buffer.allocUnsafe(1 << 20);
    let total = 0;
    for (let n: number; (n = readSync(src, buf, 0, buf.length, null)) > 0; ) {
      total += n;
      if (total > maxBytes)
        throw new TrackingError(`artifact '${source}' grew past the limit of ${maxBytes} bytes while copying`, 413);
      hash.update(buf.subarray(0, n));
      writeSync(tmp.fd, buf, 0, n);
    }
    fsyncSync(tmp.fd);
    size = total;
  } catch (err) {
    closeSync(tmp.fd);
    unlinkSync(tmp.path);
    throw err;
  } finally {
    closeSync(src);
  }
  closeSync(tmp.fd);
  const digest = 'sha256:' + hash.digest('hex');
  commit(root, tmp.path, digest);
  return { digest, size };
}

/** Stores bytes made in memory (a plot, a report). */
export function putBytes(
  root: string,
  bytes: Uint8Array,
  maxBytes: number,
  label: string,
): { digest: string; size: number } {
  if (bytes.byteLength > maxBytes)
    throw new TrackingError(
      `artifact '${label}' is ${bytes.byteLength} bytes, over the limit of ${maxBytes} bytes`,
      413,
    );
  const digest = 'sha256:' + createHash('sha256').update(bytes).digest('hex');
  const tmp = tempFile(root);
  try {
    writeSync(tmp.fd, bytes);
    fsyncSync(tmp.fd);
  } finally {
    closeSync(tmp.fd);
  }
  commit(root, tmp.path, digest);
  return { digest, size: bytes.byteLength };
}
