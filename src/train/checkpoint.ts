// Checkpoints: weights + optimizer state as safetensors, and a JSON manifest (step, epoch, RNG and data-loader
// position, config, versions, and the SHA-256 of the tensor file). Every file is written atomically (temp, fsync,
// rename). Each save writes its tensors under a name of their own (`<name>.<step>-<rand>.safetensors`), then renames
// the manifest into place: that one rename is the commit point. A kill before it leaves the previous manifest and
// its tensors untouched; a kill after it leaves at most an unreferenced tensor file, which the next run sweeps.
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { NDArray } from '../graph/ndarray.js';
import { decodeSafetensors, encodeSafetensors } from '../nn/safetensors.js';
import { UserError } from '../util/errors.js';
import { failpoint } from '../util/failpoint.js';
import { writeAtomicFile } from '../util/write-atomic.js';

/** A checkpoint that cannot be used: missing, not a checkpoint, or corrupt (the message names the file). */
class CheckpointError extends UserError {}

/**
 * The JSON manifest of a checkpoint (`format: 'lathe-checkpoint/1'`): the training position (step, epoch, batch in
 * epoch), seed and RNG state, optimizer and callback state, metrics, config, package versions, and the name and SHA-256
 * of its safetensors file.
 */
export interface CheckpointManifest {
  readonly format: 'lathe-checkpoint/1';
  readonly step: number;
  readonly epoch: number;
  /** Batches of `epoch` already consumed (data-loader position). */
  readonly batchInEpoch: number;
  readonly seed: number;
  readonly rngState?: readonly number[];
  readonly optimizer: Readonly<Record<string, unknown>>;
  readonly metrics: Readonly<Record<string, number>>;
  readonly config?: unknown;
  readonly versions: Readonly<Record<string, string>>;
  readonly tensorsFile: string;
  readonly sha256: string;
  readonly extra?: Readonly<Record<string, unknown>>;
}

/** A checkpoint in memory: its manifest and its tensors (parameters, optimizer slots, buffers) by state key. */
export interface Checkpoint {
  readonly manifest: CheckpointManifest;
  readonly tensors: Record<string, NDArray>;
}

const sha256 = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

/** A checkpoint's own tensor file name: unique per save, so writing it never touches a committed one. */
const TENSORS_OF_SAVE = /^(.+)\.\d+-[0-9a-f]{8}\.safetensors$/;

function readManifest(path: string): CheckpointManifest | undefined {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as CheckpointManifest;
  } catch {
    return undefined;
  }
}

/** Writes `<dir>/<name>.<step>-<rand>.safetensors`, then commits `<dir>/<name>.json` (see the header). */
export function saveCheckpoint(
  dir: string,
  name: string,
  tensors: Readonly<Record<string, NDArray>>,
  manifest: Omit<CheckpointManifest, 'format' | 'tensorsFile' | 'sha256'>,
): string {
  mkdirSync(dir, { recursive: true });
  const bytes = encodeSafetensors(tensors);
  const tensorsFile = `${name}.${manifest.step}-${randomBytes(4).toString('hex')}.safetensors`;
  writeAtomicFile(join(dir, tensorsFile), bytes);
  failpoint('checkpoint:tensors-written');
  const path = join(dir, `${name}.json`);
  const previous = readManifest(path)?.tensorsFile;
  const full: CheckpointManifest = { format: 'lathe-checkpoint/1', ...manifest, tensorsFile, sha256: sha256(bytes) };
  writeAtomicFile(path, JSON.stringify(full, null, 2));
  failpoint('checkpoint:committed');
  if (previous && previous !== tensorsFile) rmSync(join(dir, previous), { force: true });
  return path;
}

/** Reads and verifies one manifest and its tensors; throws an Error naming the file at fault. */
function readCheckpointAt(manifestPath: string): Checkpoint {
  if (!existsSync(manifestPath)) throw new CheckpointError(`checkpoint ${manifestPath}: not found`);
  if (statSync(manifestPath).isDirectory())
    throw new CheckpointError(`checkpoint ${manifestPath}: a directory without last.json (not a run directory?)`);
  const manifest = readManifest(manifestPath);
  if (!manifest)
    throw new CheckpointError(`checkpoint ${manifestPath}: manifest is not valid JSON (corrupt checkpoint)`);
  if (manifest.format !== 'lathe-checkpoint/1')
    throw new CheckpointError(`checkpoint ${manifestPath}: unknown format ${String(manifest.format)}`);
  const tensorsPath = join(dirname(manifestPath), manifest.tensorsFile);
  if (!existsSync(tensorsPath))
    throw new CheckpointError(`checkpoint ${manifestPath}: tensor file ${manifest.tensorsFile} is missing`);
  const bytes = readFileSync(tensorsPath);
  if (sha256(bytes) !== manifest.sha256)
    throw new CheckpointError(`checkpoint ${tensorsPath}: checksum mismatch (corrupt checkpoint)`);
  return { manifest, tensors: decodeSafetensors(bytes, tensorsPath).tensors };
}

/**
 * Reads and verifies a checkpoint: a manifest path, or a run directory (its `last`). From a run directory whose
 * `last` is damaged, falls back to the newest intact checkpoint there and says which in `fallback`.
 */
export function loadCheckpoint(path: string): Checkpoint & { readonly path: string; readonly fallback?: string } {
  const isDir = existsSync(path) && statSync(path).isDirectory();
  if (!isDir) return { ...readCheckpointAt(path), path };
  const last = join(path, 'last.json');
  if (!existsSync(last))
    throw new CheckpointError(`checkpoint ${path}: no last.json (not a run directory, or nothing was saved yet)`);
  let firstError: Error;
  try {
    return { ...readCheckpointAt(last), path: last };
  } catch (err) {
    firstError = err as Error;
  }
  const others = readdirSync(path)
    .filter((f) => f.endsWith('.json') && f !== 'last.json')
    .map((f) => ({ file: join(path, f), step: readManifest(join(path, f))?.step }))
    .filter((c): c is { file: string; step: number } => typeof c.step === 'number')
    .sort((a, b) => b.step - a.step);
  for (const c of others) {
    try {
      return {
        ...readCheckpointAt(c.file),
        path: c.file,
        fallback: `${firstError.message}; using ${c.file} (step ${c.step}) instead`,
      };
    } catch {
      // try the next one
    }
  }
  throw firstError;
}

/** Removes a checkpoint: its manifest first (the commit point), then its tensor file. */
export function removeCheckpoint(dir: string, name: string): void {
  const path = join(dir, `${name}.json`);
  const tensors = readManifest(path)?.tensorsFile;
  rmSync(path, { force: true });
  rmSync(join(dir, tensors ?? `${name}.safetensors`), { force: true });
}

/**
 * Removes what interrupted writes left in a checkpoint directory: temp files, and tensor files of lathe's per-save
 * naming that no manifest references. Other files are never touched.
 */
export function sweepCheckpointDir(dir: string): string[] {
  if (!existsSync(dir)) return [];
  const files = readdirSync(dir);
  const referenced = new Set(
    files
      .filter((f) => f.endsWith('.json'))
      .map((f) => readManifest(join(dir, f))?.tensorsFile)
      .filter((t): t is string => !!t),
  );
  const removed = files.filter(
    (f) => (f.startsWith('.') && f.endsWith('.tmp')) || (TENSORS_OF_SAVE.test(f) && !referenced.has(f)),
  );
  for (const f of removed) rmSync(join(dir, f), { force: true });
  return removed;
}
