// One ring edge: frames that arrive in pieces (a header split across reads), several frames in one read, and a frame
// that arrives before its receive is posted all land intact in the caller's buffer; a wrong length is refused before
// the payload is read.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect, createServer, type Socket } from 'node:net';
import { PeerLink } from '../../src/distributed/peer-link.js';

async function socketPair(): Promise<[Socket, Socket]> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as { port: number };
  const accepted = new Promise<Socket>((r) => server.once('connection', r));
  const client = connect({ host: '127.0.0.1', port });
  await new Promise<void>((r) => client.once('connect', r));
  const s = await accepted;
  server.close();
  return [client, s];
}

const tag = (seq: number) => ({ seq, op: 'allReduce' as const, label: `test (allReduce #${seq})` });
const bytes = (a: Float32Array) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);

test('frames split across reads, several in one read, or early are received intact; a wrong length is refused', async () => {
  const [a, b] = await socketPair();
  const sender = new PeerLink(a, 0, 1, 5000);
  const receiver = new PeerLink(b, 1, 0, 5000);
  const x = Float32Array.from({ length: 1000 }, (_, i) => i * 0.5 - 7);
  const y = Float32Array.from({ length: 3 }, (_, i) => -i);
  // the wire bytes of two frames, fed to the receiver by hand in awkward pieces
  const wire: Uint8Array[] = [];
  const recorder = {
    setNoDelay() {},
    on() {},
    cork() {},
    uncork() {},
    write(buf: Uint8Array, cb?: () => void) {
      wire.push(Uint8Array.from(buf));
      cb?.();
      return true;
    },
  };
  const capture = new PeerLink(recorder as unknown as Socket, 0, 1, 5000);
  await capture.send(tag(1), bytes(x));
  await capture.send(tag(2), bytes(y));
  const all = Uint8Array.from(wire.flatMap((w) => [...w]));
  const gotX = new Float32Array(1000);
  const gotY = new Float32Array(3);
  const rx = receiver.recv(tag(1), bytes(gotX));
  receiver.onBytes(all.subarray(0, 5)); // half a header
  receiver.onBytes(all.subarray(5, 12 + 1001)); // the rest of it and part of the payload
  receiver.onBytes(all.subarray(12 + 1001)); // the rest, and the whole second frame, before its receive is posted
  await rx;
  await receiver.recv(tag(2), bytes(gotY));
  assert.deepEqual(gotX, x);
  assert.deepEqual(gotY, y);
  // over the socket: a frame sent before the receive is posted
  await sender.send(tag(3), bytes(x));
  await new Promise((r) => setTimeout(r, 50));
  const got = new Float32Array(1000);
  await receiver.recv(tag(3), bytes(got));
  assert.deepEqual(got, x);
  // a frame of another length: refused from its header, the destination untouched
  await sender.send(tag(4), bytes(y));
  const short = new Float32Array(4).fill(9);
  await assert.rejects(receiver.recv(tag(4), bytes(short)), /rank 0 sent 3 values, this rank expects 4/);
  assert.deepEqual([...short], [9, 9, 9, 9]);
  sender.close();
  receiver.close();
});
