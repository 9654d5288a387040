// The byte-level reading of an inference request body, before parseInferRequest sees it:
//
// - The binary tensor data extension (Triton/KServe): with an `Inference-Header-Content-Length: n`
//   header the first n bytes are the JSON request and the rest are raw little-endian tensors, one
//   per input that carries `parameters.binary_data_size`, in input order.
// - A fast path for JSON `data` arrays. `JSON.parse` of a 784-number image plus copying the numbers
//   into a typed array was ~50 µs of event-loop time per request; here every `"data": [...]` that
//   holds only numbers (flat or nested) is scanned straight from the bytes into a Float64Array and
//   the rest of the body (a few hundred bytes) goes through the JSON parser. Anything unusual
//   (booleans, strings, null, bad syntax) is left in place for the JSON parser, so errors stay those
//   of the plain path.
//
// Hostile input: every loop here is iterative and every token is bounded. A number token (anywhere
// outside a string) longer than MAX_NUMBER_CHARS is a 400 before any parser sees it, so no literal
// of 100,000 digits reaches Number() or JSON.parse, and nothing is spread into a call's arguments.
import { badRequest } from './errors.js';

/** Numbers of one JSON `data` array, flattened row-major; `depth` = nesting levels (a flat array is 1). */
export class NumericData {
  constructor(
    readonly values: Float64Array,
    readonly depth: number,
  ) {}
}

/** A request body split into its JSON part (with fast-parsed `data` arrays) and its binary tail. */
export interface OipBody {
  /** The JSON value; `inputs[k].data` may be a {@link NumericData}. */
  readonly json: unknown;
  /** Bytes after the JSON header (binary extension), or undefined without the header. */
  readonly binary?: Uint8Array;
}

/** Longest number token accepted: a double needs at most 24 characters; the rest is slack for verbose writers. */
const MAX_NUMBER_CHARS = 256;

/** The header that carries the JSON part's length in bytes. */
export const INFERENCE_HEADER = 'inference-header-content-length';

/** Parses JSON text safely (prototype-poisoning checks included); throws a 400 on bad syntax. */
export type JsonTextParser = (text: string) => unknown;

/**
 * Splits and parses a request body. `headerLength` is the raw value of the
 * `Inference-Header-Content-Length` header, if any.
 */
export function readOipBody(
  body: Buffer,
  headerLength: string | string[] | undefined,
  parseJson: JsonTextParser,
): OipBody {
  let jsonEnd = body.length;
  let binary: Uint8Array | undefined;
  if (headerLength !== undefined) {
    const raw = Array.isArray(headerLength) ? headerLength.join(',') : headerLength;
    if (!/^\d{1,15}$/.test(raw.trim()))
      throw badRequest(
        `Inference-Header-Content-Length must be a non-negative integer (got ${JSON.stringify(raw.slice(0, 40))})`,
      );
    const n = Number(raw.trim());
    if (n > body.length)
      throw badRequest(`Inference-Header-Content-Length is ${n} but the body has only ${body.length} bytes`);
    if (n === 0) throw badRequest('Inference-Header-Content-Length is 0: the JSON request header is missing');
    jsonEnd = n;
    binary = body.subarray(n);
  }
  if (jsonEnd === 0) throw badRequest('request body is empty');
  return { json: parseWithNumericData(body, jsonEnd, parseJson), binary };
}

/** Numbers are scanned into one shared buffer (grown on demand), then copied out at their exact length. */
let scratch = new Float64Array(4096);

function take(n: number): Float64Array {
  const out = scratch.slice(0, n);
  if (scratch.length > 1 << 20) scratch = new Float64Array(4096); // don't keep a huge request's buffer
  return out;
}

interface Span {
  readonly from: number;
  readonly to: number;
  readonly data: NumericData;
}

/** JSON.parse of body[0, end) with every all-numeric `"data": [...]` array replaced by a NumericData. */
function parseWithNumericData(body: Buffer, end: number, parseJson: JsonTextParser): unknown {
  const spans = findDataArrays(body, end);
  if (spans === undefined) checkNumberTokens(body, end);
  if (spans === undefined || spans.length === 0) return parseJson(body.toString('utf8', 0, end));
  // The skeleton: each span becomes its index, a number, which is then swapped for its NumericData.
  let text = '';
  let at = 0;
  spans.forEach((s, k) => {
    text += body.toString('utf8', at, s.from) + k;
    at = s.to;
  });
  text += body.toString('utf8', at, end);
  const json = parseJson(text);
  // Every placeholder must sit at inputs[i].data, exactly once; otherwise (a literal number
  // colliding with a placeholder, "data" elsewhere, duplicate keys) parse the original text.
  const used = new Uint8Array(spans.length);
  let placed = 0;
  const inputs = isRecord(json) ? json.inputs : undefined;
  if (Array.isArray(inputs)) {
    for (const input of inputs) {
      if (!isRecord(input) || typeof input.data !== 'number') continue;
      const k = input.data;
      if (!Number.isInteger(k) || k < 0 || k >= spans.length || used[k])
        return parseJson(body.toString('utf8', 0, end));
      used[k] = 1;
      placed++;
      input.data = spans[k].data;
    }
  }
  return placed === spans.length ? json : parseJson(body.toString('utf8', 0, end));
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COLON = 0x3a;
const OPEN = 0x5b;
const CLOSE = 0x5d;
const COMMA = 0x2c;
const MINUS = 0x2d;
const PLUS = 0x2b;
const DOT = 0x2e;
const ZERO = 0x30;
const NINE = 0x39;

const isSpace = (c: number): boolean => c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;
/** A byte that may continue a number token: digits, '.', 'e', 'E', '+', '-'. */
const isNumberByte = (c: number): boolean =>
  (c >= ZERO && c <= NINE) || c === DOT || c === 0x65 || c === 0x45 || c === PLUS || c === MINUS;

function tooLong(length: number): Error {
  return badRequest(
    `the body holds a number of ${length} characters; numbers are limited to ${MAX_NUMBER_CHARS} characters`,
  );
}

/** From b[i], a run of number bytes; throws a 400 when it is longer than MAX_NUMBER_CHARS. Returns where the run ends. */
function skipNumberRun(b: Uint8Array, i: number, end: number): number {
  const from = i;
  while (i < end && isNumberByte(b[i])) i++;
  if (i - from > MAX_NUMBER_CHARS) throw tooLong(i - from);
  return i;
}

/** The bound on number tokens for a body the scanner gave up on (an unterminated string): a plain linear pass. */
function checkNumberTokens(b: Uint8Array, end: number): void {
  let inString = false;
  for (let i = 0; i < end; i++) {
    const c = b[i];
    if (inString) {
      if (c === BACKSLASH) i++;
      else if (c === QUOTE) inString = false;
    } else if (c === QUOTE) inString = true;
    else if (isNumberByte(c)) i = skipNumberRun(b, i, end) - 1;
  }
}

/**
 * Spans of `"data": [numbers]` outside strings, or undefined when the text is not scannable
 * (an unterminated string): the JSON parser then reports the error.
 */
function findDataArrays(b: Buffer, end: number): Span[] | undefined {
  const spans: Span[] = [];
  let i = 0;
  while (i < end) {
    const c = b[i];
    if (c !== QUOTE) {
      i = isNumberByte(c) ? skipNumberRun(b, i, end) : i + 1;
      continue;
    }
    const start = i + 1;
    let j = start;
    while (j < end && b[j] !== QUOTE) j += b[j] === BACKSLASH ? 2 : 1;
    if (j >= end) return undefined;
    i = j + 1;
    // "data" (4 bytes) followed by a colon and an array
    if (j - start !== 4 || b[start] !== 0x64 || b[start + 1] !== 0x61 || b[start + 2] !== 0x74 || b[start + 3] !== 0x61)
      continue;
    let k = i;
    while (k < end && isSpace(b[k])) k++;
    if (b[k] !== COLON) continue;
    k++;
    while (k < end && isSpace(b[k])) k++;
    if (b[k] !== OPEN) continue;
    const parsed = scanNumbers(b, k, end);
    if (!parsed) continue;
    spans.push({ from: k, to: parsed.end, data: parsed.data });
    i = parsed.end;
  }
  return spans;
}

const POW10 = Array.from({ length: 23 }, (_, e) => 10 ** e);

/**
 * Reads a JSON array of numbers (nested arrays allowed) starting at b[i] === '['. Returns undefined
 * on anything else (true, null, strings, objects, syntax errors): the JSON parser takes over there.
 */
function scanNumbers(b: Buffer, i: number, end: number): { end: number; data: NumericData } | undefined {
  let n = 0;
  let depth = 0;
  let maxDepth = 0;
  // expectValue: after '[' or ',' (a value or, right after '[', a ']' may come)
  let expectValue = true;
  let justOpened = false;
  while (i < end) {
    const c = b[i];
    if (isSpace(c)) {
      i++;
      continue;
    }
    if (expectValue) {
      if (c === OPEN) {
        depth++;
        if (depth > maxDepth) maxDepth = depth;
        i++;
        justOpened = true;
        continue;
      }
      if (c === CLOSE && justOpened) {
        depth--;
        i++;
        expectValue = false;
        justOpened = false;
        if (depth === 0) return { end: i, data: new NumericData(take(n), maxDepth) };
        continue;
      }
      // a number: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
      const from = i;
      let neg = false;
      if (c === MINUS) {
        neg = true;
        i++;
      }
      let d = b[i];
      if (d === undefined || d < ZERO || d > NINE) return undefined;
      let mant = 0;
      let digits = 0;
      let frac = 0;
      if (d === ZERO) {
        i++;
        digits = 1;
        d = b[i];
        if (d >= ZERO && d <= NINE) return undefined; // leading zero
      } else {
        while (d >= ZERO && d <= NINE) {
          mant = mant * 10 + (d - ZERO);
          digits++;
          d = b[++i];
        }
      }
      if (d === DOT) {
        d = b[++i];
        if (!(d >= ZERO && d <= NINE)) return undefined;
        while (d >= ZERO && d <= NINE) {
          mant = mant * 10 + (d - ZERO);
          digits++;
          frac++;
          d = b[++i];
        }
      }
      let exact = digits <= 15;
      if (d === 0x65 || d === 0x45) {
        exact = false;
        d = b[++i];
        if (d === PLUS || d === MINUS) d = b[++i];
        if (!(d >= ZERO && d <= NINE)) return undefined;
        while (d >= ZERO && d <= NINE) d = b[++i];
      }
      if (i - from > MAX_NUMBER_CHARS) throw tooLong(i - from);
      // Up to 15 significant digits, mantissa and 10^frac are exact doubles, so one division is
      // correctly rounded (Clinger's fast path); other numbers go through Number().
      let v: number;
      if (exact) {
        v = frac === 0 ? mant : mant / POW10[frac];
        if (neg) v = -v;
      } else v = Number(b.toString('latin1', from, i));
      if (n === scratch.length) {
        const grown = new Float64Array(scratch.length * 2);
        grown.set(scratch);
        scratch = grown;
      }
      scratch[n++] = v;
      expectValue = false;
      justOpened = false;
      continue;
    }
    // after a value: ',' or ']'
    if (c === COMMA) {
      expectValue = true;
      justOpened = false;
      i++;
      continue;
    }
    if (c === CLOSE) {
      depth--;
      i++;
      if (depth === 0) return { end: i, data: new NumericData(take(n), maxDepth) };
      continue;
    }
    return undefined;
  }
  return undefined;
}
