// The TCP backend of Collective. Rendezvous: rank 0 listens at MASTER_ADDR:MASTER_PORT, every other rank connects
// and says which rank it is and where its ring port listens; rank 0 answers with every rank's address, and each rank
// connects to its right neighbour. Operations run over that ring: all-reduce is a reduce-scatter then an all-gather
// (2·(W−1) steps of 1/W of the buffer each), bucket by bucket; the chunk a rank adds into and the order of the adds
// depend only on (rank, worldSize), so results are bit-identical run to run and on every rank. Every wait has a
// deadline; a disconnect or a timeout rejects with an error that names the rank that did not answer and the operation.
import { connect, createServer, type Server, type Socket } from 'node:net';
import { CollectiveError, type Collective } from './collective.js';
import { type OpName, type OpTag, PeerLink } from './peer-link.js';
import type { RendezvousSpec } from './rendezvous.js';

/** Options of {@link TcpCollective.connect}: the deadline of every operation and the all-reduce bucket size. */
export interface TcpCollectiveOptions {
  /** Seconds any single wait may take (rendezvous, each send and receive) before it fails naming the peer. Default 300. */
  readonly timeoutSeconds?: number;
  /** Values per all-reduce bucket (each bucket is one ring pass). Default 4 Mi values (16 MiB). */
  readonly bucketValues?: number;
}

const isLoopback = (host: string): boolean => host === 'localhost' || host === '::1' || host.startsWith('127.');

interface Hello {
  readonly rank: number;
  readonly worldSize: number;
  readonly port: number;
}

/** Ring all-reduce, broadcast, all-gather and barrier over TCP sockets (see the file header). */
export class TcpCollective implements Collective {
  private seq = 0;
  private scratch = new Float32Array(0);

  private constructor(
    readonly rank: number,
    readonly worldSize: number,
    private readonly toRight: PeerLink | undefined,
    private readonly fromLeft: PeerLink | undefined,
    private readonly bucketValues: number,
  ) {}

  /**
   * Joins the group described by `spec`: rank 0 listens at the master address (loopback only when the master address
   * is a loopback address, all interfaces otherwise), the other ranks connect to it, retrying until the deadline.
   */
  static async connect(spec: RendezvousSpec, opts: TcpCollectiveOptions = {}): Promise<TcpCollective> {
    const { rank, worldSize } = spec;
    const timeoutMs = (opts.timeoutSeconds ?? 300) * 1000;
    const bucketValues = opts.bucketValues ?? 4 * 1024 * 1024;
    if (worldSize === 1) return new TcpCollective(0, 1, undefined, undefined, bucketValues);
    const bindHost = isLoopback(spec.masterAddr) ? '127.0.0.1' : '0.0.0.0';
    const deadline = Date.now() + timeoutMs;
    // this rank's ring port: its right neighbour connects here and reads what this rank sends
    const ring = await listen(bindHost, 0);
    const ringPort = (ring.address() as { port: number }).port;
    const right = (rank + 1) % worldSize;
    const toRightP = acceptFrom(ring, rank, right, deadline, timeoutMs);
    toRightP.catch(() => undefined);
    let peers: { host: string; port: number }[];
    try {
      peers =
        rank === 0
          ? await hostRendezvous(spec, ringPort, bindHost, deadline)
          : await joinRendezvous(spec, ringPort, deadline);
    } catch (e) {
      ring.close();
      throw e;
    }
    // this rank reads from its left neighbour over a socket it opens itself (so it can read with onread)
    const left = (rank - 1 + worldSize) % worldSize;
    const fromLeft = await connectReader(peers[left].host, peers[left].port, rank, left, deadline, timeoutMs);
    const hello = new Float32Array([rank]);
    await fromLeft.send({ seq: 0, op: 'hello', label: 'connecting the ring' }, bytesOf(hello, 0, 1));
    const toRight = await toRightP;
    ring.close();
    return new TcpCollective(rank, worldSize, toRight, fromLeft, bucketValues);
  }

  private tag(op: OpName, what: string | undefined): OpTag {
    const seq = ++this.seq;
    return { seq, op, label: `${what ?? op} (${op} #${seq})` };
  }

  private scratchOf(n: number): Float32Array {
    if (this.scratch.length < n) this.scratch = new Float32Array(n);
    return this.scratch;
  }

  async allReduce(buf: Float32Array, what?: string): Promise<void> {
    const tag = this.tag('allReduce', what);
    const W = this.worldSize;
    if (W === 1) return;
    const r = this.rank;
    const out = this.toRight!;
    const inn = this.fromLeft!;
    for (let off = 0; off < buf.length || (off === 0 && buf.length === 0); off += this.bucketValues) {
      const len = Math.min(this.bucketValues, buf.length - off);
      const lo = (c: number) => off + Math.floor((c * len) / W);
      const hi = (c: number) => off + Math.floor(((c + 1) * len) / W);
      const scratch = this.scratchOf(Math.ceil(len / W) + 1);
      // reduce-scatter: after W−1 steps this rank holds the sum of chunk (r+1) mod W
      for (let s = 0; s < W - 1; s++) {
        const send = (r - s + W) % W;
        const recv = (r - s - 1 + W) % W;
        const n = hi(recv) - lo(recv);
        await Promise.all([out.send(tag, bytesOf(buf, lo(send), hi(send))), inn.recv(tag, bytesOf(scratch, 0, n))]);
        const base = lo(recv);
        for (let i = 0; i < n; i++) buf[base + i] += scratch[i];
      }
      // all-gather: pass the reduced chunks around the ring
      for (let s = 0; s < W - 1; s++) {
        const send = (r + 1 - s + W) % W;
        const recv = (r - s + W) % W;
        await Promise.all([
          out.send(tag, bytesOf(buf, lo(send), hi(send))),
          inn.recv(tag, bytesOf(buf, lo(recv), hi(recv))),
        ]);
      }
      if (buf.length === 0) break;
    }
  }

  async broadcast(buf: Float32Array, root: number, what?: string): Promise<void> {
    const tag = this.tag('broadcast', what);
    const W = this.worldSize;
    if (!(Number.isInteger(root) && root >= 0 && root < W))
      throw new CollectiveError(`rank ${this.rank}: ${tag.label}: root ${root} is outside 0..${W - 1}`);
    if (W === 1) return;
    const forward = (this.rank + 1) % W !== root;
    for (let off = 0; off < buf.length || (off === 0 && buf.length === 0); off += this.bucketValues) {
      const end = Math.min(buf.length, off + this.bucketValues);
      if (this.rank !== root) await this.fromLeft!.recv(tag, bytesOf(buf, off, end));
      if (forward) await this.toRight!.send(tag, bytesOf(buf, off, end));
      if (buf.length === 0) break;
    }
  }

  async allGather(local: Float32Array, what?: string): Promise<Float32Array> {
    const tag = this.tag('allGather', what);
    const W = this.worldSize;
    const n = local.length;
    const out = new Float32Array(W * n);
    out.set(local, this.rank * n);
    for (let s = 0; s < W - 1; s++) {
      const send = (this.rank - s + W) % W;
      const recv = (this.rank - s - 1 + W) % W;
      await Promise.all([
        this.toRight!.send(tag, bytesOf(out, send * n, (send + 1) * n)),
        this.fromLeft!.recv(tag, bytesOf(out, recv * n, (recv + 1) * n)),
      ]);
    }
    return out;
  }

  async barrier(what?: string): Promise<void> {
    await this.allReduce(new Float32Array(1), what ?? 'barrier');
  }

  async close(): Promise<void> {
    this.toRight?.socket.end();
    this.toRight?.close();
    this.fromLeft?.close();
  }
}

/** The bytes of `a[from..to)` (a view, no copy). */
function bytesOf(a: Float32Array, from: number, to: number): Uint8Array {
  return new Uint8Array(a.buffer, a.byteOffset + from * 4, (to - from) * 4);
}

function listen(host: string, port: number): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', (e) =>
      reject(new CollectiveError(`rendezvous: cannot listen on ${host}:${port} (${(e as Error).message})`)),
    );
    server.listen(port, host, () => resolve(server));
  });
}

/** The first ring connection whose hello frame says it comes from rank `from`. */
function acceptFrom(ring: Server, self: number, from: number, deadline: number, timeoutMs: number): Promise<PeerLink> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(
      () =>
        reject(
          new CollectiveError(`rank ${self}: rank ${from} did not connect its ring link within the rendezvous timeout`),
        ),
      Math.max(0, deadline - Date.now()),
    );
    ring.on('connection', (socket) => {
      const link = new PeerLink(socket, self, from, timeoutMs);
      const hello = new Float32Array(1);
      link
        .recv({ seq: 0, op: 'hello', label: 'connecting the ring' }, bytesOf(hello, 0, 1))
        .then(() => {
          if (hello[0] !== from) {
            socket.destroy();
            return;
          }
          clearTimeout(timer);
          resolve(link);
        })
        .catch(() => socket.destroy());
    });
  });
}

/** Bytes per read of a ring link (one reused buffer per link). */
const READ_BUFFER = 4 * 1024 * 1024;

/** Connects to `peer`'s ring port, retrying until the deadline; the link reads with `onread` into one large buffer. */
async function connectReader(
  host: string,
  port: number,
  self: number,
  peer: number,
  deadline: number,
  timeoutMs: number,
): Promise<PeerLink> {
  const staging = Buffer.allocUnsafe(READ_BUFFER);
  let last = '';
  while (Date.now() < deadline) {
    try {
      return await new Promise<PeerLink>((resolve, reject) => {
        let link: PeerLink | undefined;
        const s = connect({
          host,
          port,
          onread: {
            buffer: staging,
            callback: (n: number, buf: Uint8Array) => {
              link?.onBytes(buf.subarray(0, n));
              return true;
            },
          },
        });
        s.once('connect', () => {
          s.removeAllListeners('error');
          link = new PeerLink(s, self, peer, timeoutMs, true);
          resolve(link);
        });
        s.once('error', reject);
      });
    } catch (e) {
      last = (e as Error).message;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  throw new CollectiveError(
    `rank ${self}: could not connect to rank ${peer} at ${host}:${port} within the rendezvous timeout (${last || 'no answer'})`,
  );
}

async function connectRetrying(host: string, port: number, deadline: number, what: () => string): Promise<Socket> {
  let last = '';
  while (Date.now() < deadline) {
    try {
      return await new Promise<Socket>((resolve, reject) => {
        const s = connect({ host, port });
        s.once('connect', () => {
          s.removeAllListeners('error');
          resolve(s);
        });
        s.once('error', reject);
      });
    } catch (e) {
      last = (e as Error).message;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  throw new CollectiveError(`${what()} within the rendezvous timeout (${last || 'no answer'})`);
}

/** Reads one newline-terminated JSON line from `socket`. */
function readLine(socket: Socket, deadline: number, what: string): Promise<unknown> {
  return new Promise((resolve, reject) => {
    let text = '';
    const timer = setTimeout(
      () => done(new CollectiveError(`${what}: no answer within the rendezvous timeout`)),
      Math.max(0, deadline - Date.now()),
    );
    const onData = (b: Buffer) => {
      text += b.toString('utf8');
      const nl = text.indexOf('\n');
      if (nl >= 0) {
        try {
          done(undefined, JSON.parse(text.slice(0, nl)));
        } catch {
          done(new CollectiveError(`${what}: not a lathe rendezvous message`));
        }
      }
    };
    const onClose = () => done(new CollectiveError(`${what}: the connection closed`));
    const done = (err: Error | undefined, v?: unknown) => {
      clearTimeout(timer);
      socket.off('data', onData);
      socket.off('close', onClose);
      if (err) reject(err);
      else resolve(v);
    };
    socket.on('data', onData);
    socket.on('close', onClose);
  });
}

/** Rank 0: accepts every other rank's hello, then sends each the table of ring addresses. */
async function hostRendezvous(
  spec: RendezvousSpec,
  ringPort: number,
  bindHost: string,
  deadline: number,
): Promise<{ host: string; port: number }[]> {
  const server = await listen(bindHost, spec.masterPort);
  const joined = new Map<number, { socket: Socket; host: string; port: number }>();
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => {
          const missing = [...Array(spec.worldSize).keys()].filter((r) => r > 0 && !joined.has(r));
          reject(
            new CollectiveError(
              `rendezvous at ${spec.masterAddr}:${spec.masterPort}: rank${missing.length > 1 ? 's' : ''} ${missing.join(', ')} did not join within the timeout`,
            ),
          );
        },
        Math.max(0, deadline - Date.now()),
      );
      server.on('connection', (socket) => {
        readLine(socket, deadline, 'rendezvous')
          .then((msg) => {
            const h = msg as Hello;
            if (h.worldSize !== spec.worldSize) {
              clearTimeout(timer);
              reject(
                new CollectiveError(
                  `rendezvous: rank ${h.rank} was started with world size ${h.worldSize}, rank 0 with ${spec.worldSize}`,
                ),
              );
              return;
            }
            if (!(Number.isInteger(h.rank) && h.rank > 0 && h.rank < spec.worldSize) || joined.has(h.rank)) {
              clearTimeout(timer);
              reject(new CollectiveError(`rendezvous: rank ${h.rank} joined twice or is out of range`));
              return;
            }
            const host = (socket.remoteAddress ?? '127.0.0.1').replace(/^::ffff:/, '');
            joined.set(h.rank, { socket, host, port: h.port });
            if (joined.size === spec.worldSize - 1) {
              clearTimeout(timer);
              resolve();
            }
          })
          .catch(() => socket.destroy());
      });
    });
    const peers = [{ host: spec.masterAddr, port: ringPort }];
    for (let r = 1; r < spec.worldSize; r++) peers.push({ host: joined.get(r)!.host, port: joined.get(r)!.port });
    for (const { socket } of joined.values()) socket.end(`${JSON.stringify({ peers })}\n`);
    return peers;
  } catch (e) {
    for (const { socket } of joined.values()) socket.destroy();
    throw e;
  } finally {
    server.close();
  }
}

/** Ranks > 0: says hello to rank 0 and reads the table of ring addresses. */
async function joinRendezvous(
  spec: RendezvousSpec,
  ringPort: number,
  deadline: number,
): Promise<{ host: string; port: number }[]> {
  const socket = await connectRetrying(
    spec.masterAddr,
    spec.masterPort,
    deadline,
    () => `rank ${spec.rank}: could not reach rank 0 at ${spec.masterAddr}:${spec.masterPort}`,
  );
  const hello: Hello = { rank: spec.rank, worldSize: spec.worldSize, port: ringPort };
  socket.write(`${JSON.stringify(hello)}\n`);
  const msg = (await readLine(socket, deadline, `rank ${spec.rank}: rendezvous with rank 0`)) as {
    peers?: { host: string; port: number }[];
  };
  socket.destroy();
  if (!Array.isArray(msg.peers) || msg.peers.length !== spec.worldSize)
    throw new CollectiveError(`rank ${spec.rank}: rendezvous: rank 0 sent no address table`);
  return msg.peers;
}
