/**
 * Protobuf wire format: a chunked writer (large byte fields are referenced, not copied, until the
 * final concatenation) and a bounds-checked reader whose errors name the field and byte offset.
 */

import { UserError } from '../util/errors.js';

export const WIRE_VARINT = 0;
export const WIRE_I64 = 1;
export const WIRE_LEN = 2;
export const WIRE_I32 = 5;

const TWO32 = 4294967296;
const TWO63 = 2 ** 63;
/** Byte fields at least this long are kept by reference and copied once, into the final buffer. */
const BIG_BYTES = 1024;

const utf8Enc = new TextEncoder();
const utf8Dec = new TextDecoder('utf-8');

/** Splits an int64 value into two's complement 32-bit halves (numbers clamp to the int64 range). */
function split64(v: number | bigint, what: string): [lo: number, hi: number] {
  if (typeof v === 'bigint') {
    const u = BigInt.asUintN(64, v);
    return [Number(u & 0xffffffffn), Number(u >> 32n)];
  }
  if (!Number.isInteger(v)) throw new Error(`encode: ${what}: ${v} is not an integer`);
  if (v >= TWO63) return [0xffffffff, 0x7fffffff];
  if (v <= -TWO63) return [0, 0x80000000];
  const a = Math.abs(v);
  let lo = a >>> 0;
  let hi = Math.floor(a / TWO32) >>> 0;
  if (v < 0) {
    lo = (~lo + 1) >>> 0;
    hi = (~hi + (lo === 0 ? 1 : 0)) >>> 0;
  }
  return [lo, hi];
}

function isAscii(s: string): boolean {
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) > 0x7f) return false;
  return true;
}

/**
 * Append-only protobuf writer. Small writes go into a growing scratch chunk; byte fields of at least
 * BIG_BYTES are kept as references. A nested message is written into a pooled child writer (one per depth),
 * then its small bytes are copied up and its large referenced parts adopted, so tensor data is copied
 * exactly once, in finish() (or never, when streaming chunks() to a file).
 */
export class Writer {
  private readonly parts: Uint8Array[] = [];
  private chunk: Uint8Array;
  private start = 0; // start of the not-yet-flushed region of chunk
  private pos = 0;
  private dataView: DataView | undefined;
  /** A reusable writer for nested messages (one per nesting depth). */
  private child: Writer | undefined;
  /** Total bytes written so far. */
  length = 0;

  constructor(initial = 256) {
    this.chunk = new Uint8Array(initial);
  }

  private get dv(): DataView {
    return (this.dataView ??= new DataView(this.chunk.buffer, this.chunk.byteOffset, this.chunk.byteLength));
  }

  private reset(): void {
    this.parts.length = 0;
    this.start = this.pos = 0;
    this.length = 0;
  }

  private reserve(n: number): void {
    if (this.pos + n <= this.chunk.length) return;
    this.flush();
    const size = Math.max(n, Math.min(this.chunk.length * 2, 65536));
    this.chunk = new Uint8Array(size);
    this.dataView = undefined;
    this.start = this.pos = 0;
  }

  private flush(): void {
    if (this.pos > this.start) this.parts.push(this.chunk.subarray(this.start, this.pos));
    this.start = this.pos;
  }

  /** Bytes already in wire format (a field kept verbatim by the decoder), appended as they are. */
  raw(b: Uint8Array): void {
    this.append(b);
  }

  private append(b: Uint8Array): void {
    if (b.length >= BIG_BYTES) {
      this.flush();
      this.parts.push(b);
    } else {
      this.reserve(b.length);
      this.chunk.set(b, this.pos);
      this.pos += b.length;
    }
    this.length += b.length;
  }

  /** An unsigned varint below 2^32 (tags, lengths, non-negative int32). */
  uvarint32(v: number): void {
    this.reserve(5);
    const c = this.chunk;
    let p = this.pos;
    while (v > 0x7f) {
      c[p++] = (v & 0x7f) | 0x80;
      v >>>= 7;
    }
    c[p++] = v;
    this.length += p - this.pos;
    this.pos = p;
  }

  /** A 64-bit varint (two's complement for negatives: 10 bytes). */
  varint64(v: number | bigint, what: string): void {
    if (typeof v === 'number' && v >= 0 && v < TWO32 && Number.isInteger(v)) {
      this.uvarint32(v);
      return;
    }
    let [lo, hi] = split64(v, what);
    this.reserve(10);
    const c = this.chunk;
    let p = this.pos;
    while (hi !== 0) {
      c[p++] = (lo & 0x7f) | 0x80;
      lo = ((lo >>> 7) | (hi << 25)) >>> 0;
      hi >>>= 7;
    }
    while (lo > 0x7f) {
      c[p++] = (lo & 0x7f) | 0x80;
      lo >>>= 7;
    }
    c[p++] = lo;
    this.length += p - this.pos;
    this.pos = p;
  }

  tag(field: number, wire: number): void {
    this.uvarint32(((field << 3) | wire) >>> 0);
  }

  float32(v: number): void {
    this.reserve(4);
    this.dv.setFloat32(this.pos, v, true);
    this.pos += 4;
    this.length += 4;
  }

  float64(v: number): void {
    this.reserve(8);
    this.dv.setFloat64(this.pos, v, true);
    this.pos += 8;
    this.length += 8;
  }

  // ---- fields ----

  int64Field(field: number, v: number | bigint, what: string): void {
    this.tag(field, WIRE_VARINT);
    this.varint64(v, what);
  }

  floatField(field: number, v: number): void {
    this.tag(field, WIRE_I32);
    this.float32(v);
  }

  bytesField(field: number, b: Uint8Array): void {
    this.tag(field, WIRE_LEN);
    this.uvarint32(b.length);
    this.append(b);
  }

  stringField(field: number, s: string): void {
    if (s.length < 128 && isAscii(s)) {
      this.tag(field, WIRE_LEN);
      this.uvarint32(s.length);
      this.reserve(s.length);
      const c = this.chunk;
      for (let i = 0; i < s.length; i++) c[this.pos + i] = s.charCodeAt(i);
      this.pos += s.length;
      this.length += s.length;
    } else {
      this.bytesField(field, utf8Enc.encode(s));
    }
  }

  /** A nested message: `body` writes into a pooled child writer; its large referenced parts are adopted, not copied. */
  messageField(field: number, body: (w: Writer) => void): void {
    const child = (this.child ??= new Writer());
    child.reset();
    body(child);
    this.adopt(field, child);
  }

  packedInt64(field: number, vs: readonly (number | bigint)[], what: string): void {
    if (vs.length === 0) return;
    const child = (this.child ??= new Writer());
    child.reset();
    for (let i = 0; i < vs.length; i++) child.varint64(vs[i], what);
    this.adopt(field, child);
  }

  /** Writes child's bytes as a length-delimited field: bytes in child's reusable chunk are copied, others referenced. */
  private adopt(field: number, child: Writer): void {
    this.tag(field, WIRE_LEN);
    this.uvarint32(child.length);
    if (child.parts.length === 0) {
      // the common case: the whole child is in its chunk; copy without allocating views
      const n = child.pos - child.start;
      this.reserve(n);
      const src = child.chunk;
      const dst = this.chunk;
      if (n < 64) for (let i = 0, o = this.pos, j = child.start; i < n; i++) dst[o + i] = src[j + i];
      else dst.set(src.subarray(child.start, child.pos), this.pos);
      this.pos += n;
    } else {
      child.flush();
      const own = child.chunk.buffer;
      for (const p of child.parts) {
        if (p.buffer === own || p.length < BIG_BYTES) {
          this.reserve(p.length);
          this.chunk.set(p, this.pos);
          this.pos += p.length;
        } else {
          this.flush();
          this.parts.push(p);
        }
      }
    }
    this.length += child.length;
  }

  packedFloat32(field: number, vs: readonly number[]): void {
    if (vs.length === 0) return;
    this.tag(field, WIRE_LEN);
    this.uvarint32(vs.length * 4);
    const b = new Uint8Array(vs.length * 4);
    const dv = new DataView(b.buffer);
    for (let i = 0; i < vs.length; i++) dv.setFloat32(i * 4, vs[i], true);
    this.append(b);
  }

  packedFloat64(field: number, vs: readonly number[]): void {
    if (vs.length === 0) return;
    this.tag(field, WIRE_LEN);
    this.uvarint32(vs.length * 8);
    const b = new Uint8Array(vs.length * 8);
    const dv = new DataView(b.buffer);
    for (let i = 0; i < vs.length; i++) dv.setFloat64(i * 8, vs[i], true);
    this.append(b);
  }

  /** The parts written so far, in order (referencing, not copying, large byte fields). */
  chunks(): Uint8Array[] {
    this.flush();
    return this.parts;
  }

  /** Concatenates everything into one buffer (the single copy of large byte fields). */
  finish(): Uint8Array {
    this.flush();
    const out =
      this.length > 4096
        ? new Uint8Array(Buffer.allocUnsafeSlow(this.length).buffer, 0, this.length)
        : new Uint8Array(this.length);
    let o = 0;
    for (const p of this.parts) {
      out.set(p, o);
      o += p.length;
    }
    return out;
  }
}

/** Error raised for malformed input: names the message/field and the absolute byte offset. */
/** Bytes that are not a valid ONNX protobuf (truncated, corrupt, not ONNX): the message names field and offset. */
export class ProtoDecodeError extends UserError {
  constructor(
    message: string,
    readonly offset: number,
  ) {
    super(message);
  }
}

/** A bounds-checked reader over buf[pos, end). Offsets in errors are absolute within the top buffer. */
export class Reader {
  pos: number;
  /** Name of the message being read, for error messages. */
  context: string;
  /** Fields kept verbatim by keep(), in wire order. */
  unknown: Uint8Array[] | undefined;
  private lastTagAt = 0;
  private dv: DataView | undefined;

  constructor(
    readonly buf: Uint8Array,
    pos = 0,
    public end = buf.length,
    context = 'message',
    dv?: DataView,
  ) {
    this.pos = pos;
    this.context = context;
    this.dv = dv;
  }

  get done(): boolean {
    return this.pos >= this.end;
  }

  fail(what: string, at = this.pos): never {
    throw new ProtoDecodeError(`decode ${this.context}: ${what} at byte offset ${at}`, at);
  }

  private need(n: number, what: string): void {
    if (this.pos + n > this.end) this.fail(`truncated ${what} (need ${n} bytes, ${this.end - this.pos} left)`);
  }

  /** Halves of the last varint64() read. */
  lo = 0;
  hi = 0;

  /** Reads a varint into two's complement halves (this.lo, this.hi). */
  varint64(what: string): void {
    const start = this.pos;
    const b = this.buf;
    let lo = 0;
    let hi = 0;
    let shift = 0;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.end) this.fail(`truncated varint in ${what}`, start);
      const byte = b[this.pos++];
      if (shift < 28) lo |= (byte & 0x7f) << shift;
      else if (shift === 28) {
        lo |= (byte & 0x0f) << 28;
        hi |= (byte & 0x7f) >>> 4;
      } else hi |= (byte & 0x7f) << (shift - 32);
      if ((byte & 0x80) === 0) {
        this.lo = lo >>> 0;
        this.hi = hi >>> 0;
        return;
      }
      shift += 7;
    }
    this.fail(`varint longer than 10 bytes in ${what}`, start);
  }

  /** A varint as an unsigned number (tags, lengths); fails at 2^53 and above. */
  uvarint(what: string): number {
    const b = this.buf;
    if (this.pos < this.end && b[this.pos] < 0x80) return b[this.pos++];
    const start = this.pos;
    this.varint64(what);
    if (this.hi > 0x1fffff) this.fail(`value too large in ${what}`, start);
    return this.hi * TWO32 + this.lo;
  }

  /** An int32/enum varint (sign-extended negatives become negative numbers). */
  int32(what: string): number {
    const b = this.buf;
    if (this.pos < this.end && b[this.pos] < 0x80) return b[this.pos++];
    this.varint64(what);
    return this.lo | 0;
  }

  /** An int64 varint: a number when it is a safe integer, else a bigint. */
  int64(what: string): number | bigint {
    const b = this.buf;
    if (this.pos < this.end && b[this.pos] < 0x80) return b[this.pos++];
    this.varint64(what);
    return join64(this.lo, this.hi);
  }

  /** An int64 varint that must be a safe integer (dims, versions). */
  int64Number(what: string): number {
    const start = this.pos;
    const v = this.int64(what);
    if (typeof v === 'bigint') this.fail(`${what} = ${v} exceeds 2^53`, start);
    return v;
  }

  bigint64(what: string, signed: boolean): bigint {
    this.varint64(what);
    const u = (BigInt(this.hi) << 32n) | BigInt(this.lo);
    return signed ? BigInt.asIntN(64, u) : u;
  }

  float32(what: string): number {
    this.need(4, what);
    const v = this.view().getFloat32(this.pos, true);
    this.pos += 4;
    return v;
  }

  float64(what: string): number {
    this.need(8, what);
    const v = this.view().getFloat64(this.pos, true);
    this.pos += 8;
    return v;
  }

  private view(): DataView {
    if (!this.dv) this.dv = new DataView(this.buf.buffer, this.buf.byteOffset, this.buf.byteLength);
    return this.dv;
  }

  /** Reads a tag: field number = tag >>> 3, wire type = tag & 7. */
  tag(): number {
    const at = this.pos;
    this.lastTagAt = at;
    const t = this.uvarint('tag');
    if (t < 8 || t > 0xffffffff) this.fail(`invalid tag ${t}`, at);
    return t;
  }

  /** Length of a length-delimited field; checks it fits. */
  len(what: string): number {
    const n = this.uvarint(`${what} length`);
    this.need(n, what);
    return n;
  }

  /** A zero-copy view of a bytes field (a plain Uint8Array). */
  bytes(what: string): Uint8Array {
    const n = this.len(what);
    const b = this.buf;
    const out = new Uint8Array(b.buffer, b.byteOffset + this.pos, n);
    this.pos += n;
    return out;
  }

  string(what: string): string {
    const n = this.len(what);
    const b = this.buf;
    const start = this.pos;
    this.pos += n;
    if (n < 48) {
      let s = '';
      for (let i = start; i < start + n; i++) {
        const c = b[i];
        if (c > 0x7f) return utf8Dec.decode(b.subarray(start, start + n));
        s += String.fromCharCode(c);
      }
      return s;
    }
    return utf8Dec.decode(b.subarray(start, start + n));
  }

  /** A sub-reader over a nested message. */
  sub(what: string): Reader {
    const n = this.len(what);
    const r = new Reader(this.buf, this.pos, this.pos + n, what, this.view());
    this.pos += n;
    return r;
  }

  /**
   * Skips a field this decoder does not model but keeps its bytes (tag included) in `unknown`, so the encoder can
   * write them back: a decode/encode round trip never drops a field (functions, sparse initializers, training
   * info, non-tensor types, newer ONNX fields).
   */
  keep(field: number, wire: number): void {
    const start = this.lastTagAt;
    this.skip(field, wire);
    (this.unknown ??= []).push(this.buf.subarray(start, this.pos));
  }

  /** Skips a field of the given wire type. */
  skip(field: number, wire: number): void {
    const at = this.pos;
    switch (wire) {
      case WIRE_VARINT:
        this.varint64(`field ${field}`);
        return;
      case WIRE_I64:
        this.need(8, `field ${field}`);
        this.pos += 8;
        return;
      case WIRE_LEN: {
        const n = this.len(`field ${field}`);
        this.pos += n;
        return;
      }
      case WIRE_I32:
        this.need(4, `field ${field}`);
        this.pos += 4;
        return;
      case 3: {
        // group start: skip until the matching end group
        for (;;) {
          if (this.done) this.fail(`unterminated group field ${field}`, at);
          const t = this.tag();
          const f = t >>> 3;
          const w = t & 7;
          if (w === 4) {
            if (f !== field) this.fail(`mismatched end group ${f} for ${field}`, at);
            return;
          }
          this.skip(f, w);
        }
      }
      default:
        this.fail(`unknown wire type ${wire} for field ${field}`, at);
    }
  }

  /** Checks that `field` arrived with `wire`, else fails naming it. */
  expect(field: number, wire: number, got: number, name: string): void {
    if (wire !== got) this.fail(`field ${name} (${field}) has wire type ${got}, expected ${wire}`);
  }

  /** Reads a repeated numeric field that may be packed (LEN) or a single unpacked element. */
  repeated<T>(wire: number, elemWire: number, name: string, out: T[], one: (r: Reader) => T): void {
    if (wire === WIRE_LEN) {
      const n = this.len(name);
      const outer = this.end;
      const context = this.context;
      this.end = this.pos + n;
      this.context = `${context}.${name}`;
      while (this.pos < this.end) out.push(one(this));
      this.end = outer;
      this.context = context;
    } else if (wire === elemWire) {
      out.push(one(this));
    } else {
      this.fail(`field ${name} has wire type ${wire}, expected ${elemWire} or packed`);
    }
  }
}

/** Joins two's complement halves to a number when safe, else a bigint. */
function join64(lo: number, hi: number): number | bigint {
  if (hi < 0x200000) return hi * TWO32 + lo; // non-negative, < 2^53
  if (hi >= 0xffe00000) {
    // negative with magnitude <= 2^53
    const v = -((~hi >>> 0) * TWO32 + (~lo >>> 0) + 1);
    if (Number.isSafeInteger(v)) return v;
  }
  return BigInt.asIntN(64, (BigInt(hi) << 32n) | BigInt(lo));
}
