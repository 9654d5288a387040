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
  /** Where the arriving bytes go now. */
  dst: Uint8Array;
  filled: number;
  /** Called when `dst` is full: the next destination of the same read (validated header → payload), or none. */
  next?: () => Uint8Array | undefined;
  readonly what: string;
  readonly resolve: () => void;
  readonly reject: (e: Error) => void;
}

/** A framed, deadline-bounded byte channel to one peer rank. */
export class PeerLink {
  private readonly queue: Buffer[] = [];
  private pending?: PendingRead;
  /** Why the link is unusable (the peer closed or failed it), once it is. */
  private failure?: string;
  /** The header of the frame being received (one per link: a link receives one frame at a time). */
  private readonly head = new Uint8Array(12);

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

  /**
   * Copies `src` into the pending read, moving on to its next destination as each fills; returns how many bytes it
   * took. A pending read that completes (or whose header check fails) is settled and cleared.
   */
  private fill(src: Uint8Array): number {
    let off = 0;
    while (this.pending) {
      const p = this.pending;
      const n = Math.min(src.length - off, p.dst.length - p.filled);
      p.dst.set(src.subarray(off, off + n), p.filled);
      p.filled += n;
      off += n;
      if (p.filled < p.dst.length) break;
      let next: Uint8Array | undefined;
      try {
        next = p.next?.();
      } catch (e) {
        this.pending = undefined;
        p.reject(e as Error);
        break;
      }
      if (next?.length) {
        p.dst = next;
        p.filled = 0;
        p.next = undefined;
      } else {
        this.pending = undefined;
        p.resolve();
      }
    }
    return off;
  }

  /** Bytes read from the socket (a view the caller may reuse afterwards: what is not consumed now is copied). */
  onBytes(chunk: Uint8Array): void {
    const taken = this.fill(chunk);
    if (taken < chunk.length) this.queue.push(Buffer.from(chunk.subarray(taken)));
  }

  /**
   * Fills `dst` (then `next()`'s buffer, if it returns one) with the next bytes from the peer, or rejects after the
   * deadline naming the peer and `what`.
   */
  private readInto(dst: Uint8Array, what: string, next?: () => Uint8Array | undefined): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined;
      const settle = () => {
        if (timer) clearTimeout(timer);
      };
      this.pending = {
        dst,
        filled: 0,
        next,
        what,
        resolve: () => {
          settle();
          resolve();
        },
        reject: (e) => {
          settle();
          reject(e);
        },
      };
      // bytes that arrived before this read was posted
      while (this.pending && this.queue.length) {
        const head = this.queue[0];
        const n = this.fill(head);
        if (n === head.length) this.queue.shift();
        else this.queue[0] = head.subarray(n);
      }
      if (!this.pending) return;
      if (this.failure) {
        this.pending = undefined;
        settle();
        reject(this.failed(what));
        return;
      }
      timer = setTimeout(() => {
        this.pending = undefined;
        reject(
          new CollectiveError(
            `rank ${this.self}: ${what} timed out after ${this.timeoutMs / 1000} s waiting for rank ${this.peer} (it did not answer: dead, stuck or much slower)`,
          ),
        );
      }, this.timeoutMs);
    });
  }

  /** Sends one frame: the header for `tag` and `payload` bytes; resolves once the socket has taken them. */
  send(tag: OpTag, payload: Uint8Array): Promise<void> {
    if (this.failure) return Promise.reject(this.failed(tag.label));
    const head = new Uint8Array(12);
    const v = new DataView(head.buffer);
    v.setUint32(0, tag.seq);
    v.setUint32(4, OP_CODES[tag.op]);
    v.setUint32(8, payload.byteLength);
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () =>
          reject(
            new CollectiveError(
              `rank ${this.self}: ${tag.label} timed out after ${this.timeoutMs / 1000} s sending to rank ${this.peer} (it is not reading: dead, stuck or much slower)`,
            ),
          ),
        this.timeoutMs,
      );
      const done = (err?: Error | null) => {
        clearTimeout(timer);
        if (err) {
          this.failure ??= `failed its connection (${err.message}); it probably died — see its log`;
          reject(this.failed(tag.label));
        } else resolve();
      };
      // header and payload leave in one writev; the last write's callback comes after the first's
      this.socket.cork();
      if (payload.byteLength) {
        this.socket.write(head);
        this.socket.write(payload, done);
      } else this.socket.write(head, done);
      this.socket.uncork();
    });
  }

  /**
   * Receives one frame into `dst`; its header must carry `tag` and exactly `dst.byteLength` bytes. The payload goes
   * straight from the socket's reads into `dst` (no intermediate copy when the read is posted before it arrives).
   */
  recv(tag: OpTag, dst: Uint8Array): Promise<void> {
    const check = (): Uint8Array => {
      const v = new DataView(this.head.buffer);
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
      return dst;
    };
    return this.readInto(this.head, tag.label, check);
  }

  /** Closes the socket. */
  close(): void {
    this.failure ??= 'is no longer connected (this rank closed the link)';
    this.socket.destroy();
  }
}
