// TEMPORARY (lead): minimal protobuf encoder until the codec lands.
import type { AttributeProto, GraphProto, ModelProto, NodeProto, TensorProto, ValueInfoProto } from './proto.js';
class W {
  buf = new Uint8Array(1024); len = 0;
  ensure(n: number) { if (this.len + n > this.buf.length) { const b = new Uint8Array(Math.max(this.buf.length * 2, this.len + n)); b.set(this.buf.subarray(0, this.len)); this.buf = b; } }
  byte(b: number) { this.ensure(1); this.buf[this.len++] = b; }
  varint(v: number | bigint) { let x = BigInt.asUintN(64, BigInt(v)); while (x >= 0x80n) { this.byte(Number(x & 0x7fn) | 0x80); x >>= 7n; } this.byte(Number(x)); }
  tag(f: number, wt: number) { this.varint((f << 3) | wt); }
  bytes(f: number, b: Uint8Array) { this.tag(f, 2); this.varint(b.length); this.ensure(b.length); this.buf.set(b, this.len); this.len += b.length; }
  str(f: number, s: string | undefined) { if (s !== undefined && s !== '') this.bytes(f, new TextEncoder().encode(s)); }
  int(f: number, v: number | bigint | undefined) { if (v !== undefined) { this.tag(f, 0); this.varint(v); } }
  float(f: number, v: number) { this.tag(f, 5); this.ensure(4); new DataView(this.buf.buffer).setFloat32(this.len, v, true); this.len += 4; }
  msg(f: number, fn: (w: W) => void) { const w = new W(); fn(w); this.bytes(f, w.out()); }
  out() { return this.buf.slice(0, this.len); }
}
function tensor(w: W, t: TensorProto) { for (const d of t.dims) w.int(1, d); w.int(2, t.dataType); w.str(8, t.name); if (t.rawData) w.bytes(9, t.rawData); }
function attr(w: W, a: AttributeProto) {
  w.str(1, a.name); w.int(20, a.type);
  if (a.type === 1) w.float(2, a.f!); if (a.type === 2) w.int(3, a.i!); if (a.type === 3) w.bytes(4, a.s!); if (a.type === 4) w.msg(5, (x) => tensor(x, a.t!));
  if (a.type === 6) for (const v of a.floats!) w.float(7, v); if (a.type === 7) for (const v of a.ints!) w.int(8, v);
}
function node(w: W, n: NodeProto) { for (const i of n.input) w.bytes(1, new TextEncoder().encode(i)); for (const o of n.output) w.bytes(2, new TextEncoder().encode(o)); w.str(3, n.name); w.str(4, n.opType); for (const a of n.attribute) w.msg(5, (x) => attr(x, a)); w.str(7, n.domain); }
function vi(w: W, v: ValueInfoProto) { w.str(1, v.name); if (v.type?.tensorType) { const tt = v.type.tensorType; w.msg(2, (t) => t.msg(1, (x) => { x.int(1, tt.elemType); if (tt.shape) x.msg(2, (s) => { for (const d of tt.shape!.dim) s.msg(1, (dd) => ('dimValue' in d ? dd.int(1, d.dimValue) : dd.str(2, d.dimParam))); }); })); } }
function graph(w: W, g: GraphProto) { for (const n of g.node) w.msg(1, (x) => node(x, n)); w.str(2, g.name); for (const t of g.initializer) w.msg(5, (x) => tensor(x, t)); for (const i of g.input) w.msg(11, (x) => vi(x, i)); for (const o of g.output) w.msg(12, (x) => vi(x, o)); }
export function encodeModel(m: ModelProto): Uint8Array {
  const w = new W(); w.int(1, m.irVersion); w.str(2, m.producerName); w.str(3, m.producerVersion); w.msg(7, (x) => graph(x, m.graph));
  for (const o of m.opsetImport) w.msg(8, (x) => { x.str(1, o.domain); x.int(2, o.version); });
  return w.out();
}
