// The error a DataLoader raises when one sample cannot be loaded: it names the sample's index and, where the
// dataset knows it, its file, and keeps the original error as `cause`.
import { UserError } from '../util/errors.js';

/** Sample `index` (from `file`, when known) failed to load or transform. */
export class SampleError extends UserError {
  constructor(
    readonly index: number,
    readonly file: string | undefined,
    override readonly cause: unknown,
  ) {
    const why = cause instanceof Error ? cause.message : String(cause);
    super(`sample ${index}${file !== undefined && !why.includes(file) ? ` (${file})` : ''}: ${why}`);
  }
}

/** A sample a loader with `skipErrors` left out of its batch. */
export interface SkippedSample {
  readonly epoch: number;
  readonly batch: number;
  readonly index: number;
  readonly file?: string;
  readonly message: string;
}
