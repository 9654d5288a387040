// The collective operations data-parallel training needs, behind one small interface. Every rank calls the same
// operations in the same order on buffers of the same length; an implementation (tcp-collective.ts) moves the bytes.

/**
 * Collective operations over a fixed group of `worldSize` ranks. Every rank must call the same operations in the same
 * order; each call resolves once this rank's part is done and rejects (with {@link CollectiveError}) when a peer
 * fails, disconnects or does not answer within the group's timeout. `what` names the operation in error messages.
 */
export interface Collective {
  /** This process's rank, 0 ≤ rank < worldSize. */
  readonly rank: number;
  readonly worldSize: number;
  /** In place: every rank's `buf` becomes the element-wise sum over ranks, identical on every rank and deterministic. */
  allReduce(buf: Float32Array, what?: string): Promise<void>;
  /** In place: every rank's `buf` becomes `root`'s. */
  broadcast(buf: Float32Array, root: number, what?: string): Promise<void>;
  /** Every rank's `local` (equal lengths), concatenated in rank order. */
  allGather(local: Float32Array, what?: string): Promise<Float32Array>;
  /** Resolves when every rank has reached it. */
  barrier(what?: string): Promise<void>;
  /** Closes the connections; the collective cannot be used afterwards. */
  close(): Promise<void>;
}

/** A collective operation failed: a peer disconnected, timed out, or disagreed on the operation or buffer length. */
export class CollectiveError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CollectiveError';
  }
}
