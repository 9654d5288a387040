// Checkpoints: weights + optimizer state as safetensors, and a JSON manifest (step, epoch, RNG and data-loader
// position, config, versions, and the SHA-256 of the tensor file). Every file is written atomically
// (temp, fsync, rename); the manifest is written last, so a crash never leaves a manifest pointing at a
// half-written tensor file.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { NDArray } from '../graph/ndarray.js';
import { decodeSafetensors, encodeSafetensors } from '../nn/safetensors.js';
import { writeAtomicFile } from '../util/write-atomic.js';

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

export interface Checkpoint {
  readonly manifest: CheckpointManifest;
  readonly tensors: Record<string, NDArray>;
}

const sha256 = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

/** Writes `<dir>/<name>.safetensors` then `<dir>/<name>.json`. */
export function saveCheckpoint(dir: string, name: string, tensors: Readonly<Record<string, NDArray>>, manifest: Omit<CheckpointManifest, 'format' | 'tensorsFile' | 'sha256'>): string {
  mkdirSync(dir, { recursive: true });
  const bytes = encodeSafetensors(tensors);
  const tensorsFile = `${name}.safetensors`;
  writeAtomicFile(join(dir, tensorsFile), bytes);
  const full: CheckpointManifest = { format: 'lathe-checkpoint/1', ...manifest, tensorsFile, sha256: sha256(bytes) };
  const path = join(dir, `${name}.json`);
  writeAtomicFile(path, JSON.stringify(full, null, 2));
  return path;
}

/** Reads and verifies a checkpoint manifest (path to the .json, or a directory holding last.json). */
export function loadCheckpoint(path: string): Checkpoint {
  const manifestPath = existsSync(join(path, 'last.json')) ? join(path, 'last.json') : path;
  if (!existsSync(manifestPath)) throw new Error(`checkpoint ${path}: not found`);
  let manifest: CheckpointManifest;
  try {
    manifest = JSON.parse(readFileSync(manifestPath, 'utf8')) as CheckpointManifest;
  } catch {
    throw new Error(`checkpoint ${manifestPath}: manifest is not valid JSON (corrupt checkpoint)`);
  }
  if (manifest.format !== 'lathe-checkpoint/1') throw new Error(`checkpoint ${manifestPath}: unknown format ${String(manifest.format)}`);
  const tensorsPath = join(manifestPath, '..', manifest.tensorsFile);
  if (!existsSync(tensorsPath)) throw new Error(`checkpoint ${manifestPath}: tensor file ${manifest.tensorsFile} is missing`);
  const bytes = readFileSync(tensorsPath);
  if (sha256(bytes) !== manifest.sha256) throw new Error(`checkpoint ${tensorsPath}: checksum mismatch (corrupt checkpoint)`);
  return { manifest, tensors: decodeSafetensors(bytes, tensorsPath).tensors };
}

/** Removes a checkpoint's two files. */
export function removeCheckpoint(dir: string, name: string): void {
  for (const f of [`${name}.json`, `${name}.safetensors`]) rmSync(join(dir, f), { force: true });
}

/** Leftover temp files from an interrupted write. */
export function cleanTemp(dir: string): void {
  if (!existsSync(dir)) return;
  for (const f of readdirSync(dir)) if (f.startsWith('.') && f.endsWith('.tmp')) rmSync(join(dir, f), { force: true });
}
