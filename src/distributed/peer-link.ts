// One direction of a ring edge: a TCP socket carrying framed messages. A frame is a 12-byte header (operation
// sequence number, operation code, payload bytes) and the payload. The reader copies arriving bytes straight into
// the caller's buffer; every wait has a deadline, and a closed or failed socket fails the wait at once, naming the
// peer rank, so a dead rank is reported instead of waited on.
import type { Socket } from 'node:net';
import { CollectiveError } from './collective.js';

/** Operation codes in frame headers (a mismatch means the ranks run different code paths). */
export const OP_CODES = { allReduce: 1, broadcast: 2, allGather: 3, barrier: 4, hello: 5 } as const;
/** Name of an operation code. */
export type OpName = keyof typeof OP_CODES;
const OP_NAMES = Object.fromEntries(Object.entries(OP_CODES).map(([k, v]) => [v, k])) as Record<number, string>;

/** The operation a frame belongs to: its sequence number and kind, and a label for error messages. */
export interface OpTag {
  readonly seq: number;
  readonly op: OpName;
  readonly label: string;
}

interface PendingRead {
  readonly dst: Uint8Array;
  filled: number;
  readonly resolve: () => void;
  readonly reject: (e: Error) => void;
}

/** A framed, deadline-bounded byte channel to one peer rank. */
export class PeerLink {
  private readonly queue: Buffer[] = [];
  private queued = 0;
  private pending?: PendingRead & { readonly what: string };
  /** Why the link is unusable (the peer closed or failed it), once it is. */
  private failure?: string;

  /**
   * Wraps `socket`. With `viaOnRead` the socket was created with `onread` (reads into one large reused buffer, far
   * fewer and larger reads than 'data' events) and its callback must pass each read to {@link PeerLink.onBytes}.
   */
  constructor(
    readonly socket: Socket,
    readonly self: number,
    readonly peer: number,
    private readonly timeoutMs: number,
    viaOnRead = false,
  ) {
    socket.setNoDelay(true);
    if (!viaOnRead) socket.on('data', (chunk: Buffer) => this.onBytes(chunk));
    const gone = (why: string) => {
      this.failure ??= why;
      this.pending?.reject(this.failed(this.pending.what));
      this.pending = undefined;
    };
    socket.on('error', (e) => gone(`failed its connection (${e.message}); it probably died — see its log`));
    socket.on('close', () => gone('closed its connection; it probably died or stopped — see its log'));
  }

  private failed(what: string): CollectiveError {
    return new CollectiveError(`rank ${this.self}: ${what}: rank ${this.peer} ${this.failure}`);
  }

  /** Bytes read from the socket (a view the caller may reuse afterwards: what is not consumed now is copied). */
  onBytes(chunk: Uint8Array): void {
    const p = this.pending;
    if (p) {
      const n = Math.min(chunk.length, p.dst.length - p.filled);
      p.dst.set(chunk.subarray(0, n), p.filled);
      p.filled += n;
      if (n < chunk.length) this.push(chunk.subarray(n));
      if (p.filled === p.dst.length) {
        this.pending = undefined;
        p.resolve();
      }
    } else this.push(chunk);
  }

  private push(chunk: Uint8Array): void {
    this.queue.push(Buffer.from(chunk));
    this.queued += chunk.length;
  }

  /** Fills `dst` with the next bytes from the peer, or rejects after the deadline naming the peer and `what`. */
  readInto(dst: Uint8Array, what: string): Promise<void> {
    let filled = 0;
    while (filled < dst.length && this.queue.length) {
      const head = this.queue[0];
      const n = Math.min(head.length, dst.length - filled);
      dst.set(head.subarray(0, n), filled);
      filled += n;
      this.queued -= n;
      if (n === head.length) this.queue.shift();
      else this.queue[0] = head.subarray(n);
    }
    if (filled === dst.length) return Promise.resolve();
    if (this.failure) return Promise.reject(this.failed(what));
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending = undefined;
        reject(
          new CollectiveError(
            `rank ${this.self}: ${what} timed out after ${this.timeoutMs / 1000} s waiting for rank ${this.peer} (it did not answer: dead, stuck or much slower)`,
          ),
        );
      }, this.timeoutMs);
      this.pending = {
        what,
        dst,
        filled,
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      };
    });
  }

  /** Writes `bytes`; resolves once the socket has taken them (the caller may then reuse the memory). */
  write(bytes: Uint8Array, what: string): Promise<void> {
    if (this.failure) return Promise.reject(this.failed(what));
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () =>
          reject(
            new CollectiveError(
              `rank ${this.self}: ${what} timed out after ${this.timeoutMs / 1000} s sending to rank ${this.peer} (it is not reading: dead, stuck or much slower)`,
            ),
          ),
        this.timeoutMs,
      );
      this.socket.write(bytes, (err) => {
        clearTimeout(timer);
        if (err) {
          this.failure ??= `failed its connection (${err.message}); it probably died — see its log`;
          reject(this.failed(what));
        } else resolve();
      });
    });
  }

  /** Sends one frame: the header for `tag` and `payload` bytes. */
  async send(tag: OpTag, payload: Uint8Array): Promise<void> {
    const head = new Uint8Array(12);
    const v = new DataView(head.buffer);
    v.setUint32(0, tag.seq);
    v.setUint32(4, OP_CODES[tag.op]);
    v.setUint32(8, payload.byteLength);
    // header and payload leave in one writev
    this.socket.cork();
    const sent = [this.write(head, tag.label), ...(payload.byteLength ? [this.write(payload, tag.label)] : [])];
    this.socket.uncork();
    await Promise.all(sent);
  }

  /** Receives one frame into `dst`; its header must carry `tag` and exactly `dst.byteLength` bytes. */
  async recv(tag: OpTag, dst: Uint8Array): Promise<void> {
    const head = new Uint8Array(12);
    await this.readInto(head, tag.label);
    const v = new DataView(head.buffer);
    const seq = v.getUint32(0);
    const op = v.getUint32(4);
    const bytes = v.getUint32(8);
    if (seq !== tag.seq || op !== OP_CODES[tag.op])
      throw new CollectiveError(
        `rank ${this.self}: rank ${this.peer} is at collective #${seq} (${OP_NAMES[op] ?? `op ${op}`}) while this rank is at #${tag.seq} (${tag.label}): the ranks run different code paths`,
      );
    if (bytes !== dst.byteLength)
      throw new CollectiveError(
        `rank ${this.self}: ${tag.label}: rank ${this.peer} sent ${bytes / 4} values, this rank expects ${dst.byteLength / 4} (buffers differ across ranks)`,
      );
    await this.readInto(dst, tag.label);
  }

  /** Closes the socket. */
  close(): void {
    this.failure ??= 'is no longer connected (this rank closed the link)';
    this.socket.destroy();
  }
}
