// Open Inference Protocol v2 request parsing and validation (REST/JSON form), and the
// simpler /predict form. Every rejection is a 400 whose message names the field at fault.
import { badRequest, ServeError } from './errors.js';
import { NumericData } from './oip-body.js';
import {
  bytesPerElement,
  elementCount,
  fromJson,
  isOipDatatype,
  OIP_DATATYPES,
  toJson,
  viewBytes,
  type HostTensor,
  type ModelSignature,
  type OipDatatype,
  type TypedArray,
} from './tensor.js';

/** A parsed inference request, not yet checked against a model. */
export interface InferRequest {
  readonly id?: string;
  readonly inputs: readonly HostTensor[];
  /** Requested output names; undefined = all. */
  readonly outputs?: readonly string[];
  readonly parameters: Readonly<Record<string, unknown>>;
  /**
   * Outputs to answer as raw bytes (binary tensor data extension): `binary_data_output` in the
   * request parameters, overridden per output by `outputs[k].parameters.binary_data`.
   */
  readonly binaryOutputs?: { readonly all: boolean; readonly byName: ReadonlyMap<string, boolean> };
}

interface InferResponseJson {
  readonly model_name: string;
  readonly model_version: string;
  readonly id?: string;
  readonly parameters?: Readonly<Record<string, unknown>>;
  readonly outputs: readonly {
    readonly name: string;
    readonly datatype: OipDatatype;
    readonly shape: readonly number[];
    readonly data?: readonly (number | boolean)[];
    readonly parameters?: { readonly binary_data_size: number };
  }[];
}

/** An encoded response: plain JSON, or a JSON header plus raw output bytes (binary extension). */
export type InferReply =
  | { readonly kind: 'json'; readonly body: InferResponseJson }
  | { readonly kind: 'binary'; readonly headerLength: number; readonly body: Buffer };

const MAX_RANK = 16;

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Flattens nested arrays (row-major); returns undefined when a leaf is itself not a scalar where expected. */
function flatten(data: unknown[], maxDepth: number): unknown[] | string {
  const out: unknown[] = [];
  const stack: { arr: unknown[]; i: number }[] = [{ arr: data, i: 0 }];
  while (stack.length > 0) {
    const top = stack[stack.length - 1];
    if (top.i >= top.arr.length) {
      stack.pop();
      continue;
    }
    const v = top.arr[top.i++];
    if (Array.isArray(v)) {
      if (stack.length >= maxDepth) return `is nested deeper than its rank allows`;
      stack.push({ arr: v, i: 0 });
    } else out.push(v);
  }
  return out;
}

/** A parameter given as a boolean (the binary extension's flags). */
function flagParam(params: unknown, key: string, where: string): boolean | undefined {
  if (!isRecord(params) || params[key] === undefined) return undefined;
  if (typeof params[key] !== 'boolean') throw badRequest(`${where}.parameters.${key} must be a boolean`);
  return params[key] as boolean;
}

/**
 * Parses the body of `POST /v2/models/{name}/infer`. `binary` is the part of the body after the
 * JSON header (binary tensor data extension); inputs with `parameters.binary_data_size` take their
 * bytes from it, in input order, and together they must use it exactly.
 */
export function parseInferRequest(body: unknown, binary?: Uint8Array): InferRequest {
  if (!isRecord(body)) throw badRequest('request body must be a JSON object with an "inputs" array');
  const { id, inputs, outputs, parameters } = body;
  if (id !== undefined && typeof id !== 'string') throw badRequest('"id" must be a string');
  if (parameters !== undefined && !isRecord(parameters)) throw badRequest('"parameters" must be an object');
  if (!Array.isArray(inputs) || inputs.length === 0) throw badRequest('"inputs" must be a non-empty array');
  const seen = new Set<string>();
  let offset = 0;
  const tensors = inputs.map((raw, k) => {
    const where = `inputs[${k}]`;
    if (!isRecord(raw)) throw badRequest(`${where} must be an object with name, shape, datatype and data`);
    const { name, shape, datatype, data } = raw;
    if (typeof name !== 'string' || name.length === 0) throw badRequest(`${where}.name must be a non-empty string`);
    if (seen.has(name)) throw badRequest(`input '${name}' appears twice`);
    seen.add(name);
    if (!isOipDatatype(datatype))
      throw badRequest(
        `input '${name}': datatype ${JSON.stringify(datatype)} is not one of ${OIP_DATATYPES.join(', ')}`,
      );
    if (
      !Array.isArray(shape) ||
      shape.length > MAX_RANK ||
      !shape.every((d) => Number.isSafeInteger(d) && (d as number) >= 0)
    ) {
      throw badRequest(`input '${name}': shape must be an array of at most ${MAX_RANK} non-negative integers`);
    }
    const dims = shape as number[];
    const expected = elementCount(dims);
    if (raw.parameters !== undefined && !isRecord(raw.parameters))
      throw badRequest(`input '${name}': parameters must be an object`);
    const size = raw.parameters?.binary_data_size;
    if (size !== undefined) {
      if (!Number.isSafeInteger(size) || (size as number) < 0)
        throw badRequest(`input '${name}': parameters.binary_data_size must be a non-negative integer`);
      if (data !== undefined) throw badRequest(`input '${name}' has both data and parameters.binary_data_size`);
      if (!binary)
        throw badRequest(
          `input '${name}' has parameters.binary_data_size but the request has no binary data (send the Inference-Header-Content-Length header)`,
        );
      const want = expected * bytesPerElement(datatype);
      if (size !== want)
        throw badRequest(
          `input '${name}': binary_data_size is ${size as number} bytes, shape [${dims.join(',')}] of ${datatype} needs ${want}`,
        );
      if (offset + want > binary.length)
        throw badRequest(`input '${name}': binary data ends after ${binary.length - offset} of its ${want} bytes`);
      const bytes = binary.subarray(offset, offset + want);
      offset += want;
      if (datatype === 'BOOL' && bytes.some((v) => v > 1))
        throw badRequest(`input '${name}': BOOL binary data must be bytes 0 or 1`);
      return { name, datatype, shape: dims, data: viewBytes(datatype, bytes) };
    }
    let flat: readonly unknown[] | Float64Array;
    if (data instanceof NumericData) {
      if (data.depth > Math.max(1, dims.length))
        throw badRequest(`input '${name}': data is nested deeper than its rank allows (${dims.length})`);
      flat = data.values;
    } else {
      if (!Array.isArray(data)) throw badRequest(`input '${name}': data must be an array (flat or nested, row-major)`);
      const f = flatten(data, Math.max(1, dims.length));
      if (typeof f === 'string') throw badRequest(`input '${name}': data ${f} (${dims.length})`);
      flat = f;
    }
    if (flat.length !== expected)
      throw badRequest(
        `input '${name}': data has ${flat.length} elements, shape [${dims.join(',')}] needs ${expected}`,
      );
    const typed = fromJson(datatype, flat);
    if (typeof typed === 'string') throw badRequest(`input '${name}': data ${typed}`);
    return { name, datatype, shape: dims, data: typed };
  });
  if (binary && offset !== binary.length)
    throw badRequest(
      `the request has ${binary.length} bytes of binary data but its inputs' binary_data_size add up to ${offset}`,
    );
  let wanted: string[] | undefined;
  const byName = new Map<string, boolean>();
  if (outputs !== undefined) {
    if (!Array.isArray(outputs)) throw badRequest('"outputs" must be an array of {name}');
    wanted = outputs.map((o, k) => {
      if (!isRecord(o) || typeof o.name !== 'string') throw badRequest(`outputs[${k}].name must be a string`);
      const flag = flagParam(o.parameters, 'binary_data', `outputs[${k}]`);
      if (flag !== undefined) byName.set(o.name, flag);
      return o.name;
    });
  }
  const all = flagParam(parameters, 'binary_data_output', 'request') ?? false;
  return {
    id,
    inputs: tensors,
    outputs: wanted,
    parameters: (parameters as Record<string, unknown> | undefined) ?? {},
    ...(all || byName.size > 0 ? { binaryOutputs: { all, byName } } : {}),
  };
}

/**
 * Checks a request against a model signature and returns its inputs in signature order.
 * `maxBatchSize` bounds the leading dimension of batchable models.
 */
export function validateInputs(
  model: string,
  sig: ModelSignature,
  req: InferRequest,
  maxBatchSize: number,
  allowNonFinite = false,
): HostTensor[] {
  const byName = new Map(req.inputs.map((t) => [t.name, t]));
  for (const t of req.inputs) {
    if (!sig.inputs.some((s) => s.name === t.name)) {
      throw badRequest(
        `model '${model}' has no input '${t.name}'; its inputs are ${sig.inputs.map((s) => s.name).join(', ')}`,
      );
    }
  }
  let rows: number | undefined;
  const ordered = sig.inputs.map((spec) => {
    const t = byName.get(spec.name);
    if (!t)
      throw badRequest(
        `input '${spec.name}' is missing (model '${model}' needs ${sig.inputs.map((s) => s.name).join(', ')})`,
      );
    if (t.datatype !== spec.datatype)
      throw badRequest(`input '${spec.name}' has datatype ${t.datatype}, model '${model}' expects ${spec.datatype}`);
    const want = `[${spec.shape.map((d) => (d < 0 ? '-1' : d)).join(',')}]`;
    if (t.shape.length !== spec.shape.length)
      throw badRequest(`input '${spec.name}' has shape [${t.shape.join(',')}], model '${model}' expects ${want}`);
    spec.shape.forEach((d, i) => {
      if (d >= 0 && t.shape[i] !== d)
        throw badRequest(
          `input '${spec.name}' has shape [${t.shape.join(',')}], model '${model}' expects ${want} (dimension ${i} must be ${d})`,
        );
    });
    if (sig.batchable) {
      const r = t.shape[0];
      if (r === 0) throw badRequest(`input '${spec.name}' has an empty batch (dimension 0 is 0)`);
      if (rows !== undefined && r !== rows)
        throw badRequest(`input '${spec.name}' has batch size ${r}, other inputs have ${rows}`);
      rows = r;
    }
    if (t.data.length === 0) throw badRequest(`input '${spec.name}' is empty`);
    if (!allowNonFinite && (t.datatype === 'FP32' || t.datatype === 'FP64')) {
      const bad = firstNonFinite(t.data as Float32Array | Float64Array);
      if (bad >= 0) {
        throw badRequest(
          `input '${spec.name}': element ${bad} is ${t.data[bad]}${t.datatype === 'FP32' ? ' as FP32 (beyond ±3.4e38, or not finite)' : ''}; model '${model}' accepts only finite numbers (set allowNonFinite in its config to change that)`,
        );
      }
    }
    return t;
  });
  if (sig.batchable && rows !== undefined && rows > maxBatchSize && maxBatchSize > 1) {
    throw badRequest(`batch size ${rows} exceeds max_batch_size ${maxBatchSize} of model '${model}'`);
  }
  if (req.outputs) {
    for (const o of req.outputs) {
      if (!sig.outputs.some((s) => s.name === o))
        throw badRequest(
          `model '${model}' has no output '${o}'; its outputs are ${sig.outputs.map((s) => s.name).join(', ')}`,
        );
    }
  }
  return ordered;
}

/** Index of the first NaN or ±Infinity, or -1. */
function firstNonFinite(data: Float32Array | Float64Array): number {
  for (let i = 0; i < data.length; i++) {
    const v = data[i];
    // v - v is NaN exactly for NaN and ±Infinity (one subtraction, no call per element)
    if (v - v !== 0) return i;
  }
  return -1;
}

/**
 * An output as JSON values. JSON has no NaN or Infinity (JSON.stringify writes null, which OIP
 * clients read as a missing number), so such an output is refused with a 422 that points to the
 * binary tensor data extension, which carries every IEEE value.
 */
export function outputJson(model: string, o: HostTensor): number[] | boolean[] {
  if (o.datatype === 'FP32' || o.datatype === 'FP64') {
    const bad = firstNonFinite(o.data as Float32Array | Float64Array);
    if (bad >= 0) {
      throw new ServeError(
        422,
        `model '${model}' answered ${o.data[bad]} at element ${bad} of output '${o.name}', which JSON cannot carry; ask for binary output (parameters.binary_data_output: true)`,
      );
    }
  }
  return toJson(o.datatype, o.data);
}

/**
 * The response of an inference: JSON, or, when the request asked for binary outputs, the JSON
 * header (`parameters.binary_data_size` in place of `data`) followed by those outputs' raw
 * little-endian bytes in response order; `headerLength` goes into `Inference-Header-Content-Length`.
 */
export function encodeResponse(
  model: string,
  version: string,
  req: Pick<InferRequest, 'id' | 'outputs' | 'binaryOutputs'>,
  outputs: readonly HostTensor[],
  parameters?: Record<string, unknown>,
): InferReply {
  const wanted = req.outputs;
  const chosen = wanted ? outputs.filter((o) => wanted.includes(o.name)) : outputs;
  const bin = req.binaryOutputs;
  const isBinary = (name: string): boolean => (bin ? (bin.byName.get(name) ?? bin.all) : false);
  const tails: Uint8Array[] = [];
  const json: InferResponseJson = {
    model_name: model,
    model_version: version,
    ...(req.id !== undefined ? { id: req.id } : {}),
    ...(parameters && Object.keys(parameters).length > 0 ? { parameters } : {}),
    outputs: chosen.map((o) => {
      if (!isBinary(o.name))
        return { name: o.name, datatype: o.datatype, shape: [...o.shape], data: outputJson(model, o) };
      tails.push(new Uint8Array(o.data.buffer, o.data.byteOffset, o.data.byteLength));
      return {
        name: o.name,
        datatype: o.datatype,
        shape: [...o.shape],
        parameters: { binary_data_size: o.data.byteLength },
      };
    }),
  };
  if (tails.length === 0) return { kind: 'json', body: json };
  const header = Buffer.from(JSON.stringify(json));
  return { kind: 'binary', headerLength: header.length, body: Buffer.concat([header, ...tails]) };
}

/** Shape of a rectangular nested array, or an error message. */
function nestedShape(value: unknown, where: string): number[] {
  const shape: number[] = [];
  let v = value;
  while (Array.isArray(v)) {
    if (shape.length >= MAX_RANK) throw badRequest(`${where} is nested more than ${MAX_RANK} levels deep`);
    shape.push(v.length);
    if (v.length === 0) break;
    v = v[0];
  }
  return shape;
}

/**
 * Parses the simple form `{"inputs": {"x": [[...]]}}` (or `{"inputs": [[...]]}` for a one-input model):
 * shapes come from the nesting, datatypes from the model's signature.
 */
export function parsePredictInputs(sig: ModelSignature, model: string, inputs: unknown): InferRequest {
  const named: Record<string, unknown> = Array.isArray(inputs)
    ? { [sig.inputs.length === 1 ? sig.inputs[0].name : '']: inputs }
    : isRecord(inputs)
      ? inputs
      : {};
  if (!Array.isArray(inputs) && !isRecord(inputs))
    throw badRequest('"inputs" must be an object {name: nested array} or, for a one-input model, a nested array');
  if (Array.isArray(inputs) && sig.inputs.length !== 1)
    throw badRequest(
      `model '${model}' takes ${sig.inputs.length} inputs; send "inputs" as an object {${sig.inputs.map((s) => s.name).join(', ')}}`,
    );
  const tensors: HostTensor[] = Object.entries(named).map(([name, value]) => {
    const spec = sig.inputs.find((s) => s.name === name);
    if (!spec)
      throw badRequest(
        `model '${model}' has no input '${name}'; its inputs are ${sig.inputs.map((s) => s.name).join(', ')}`,
      );
    if (!Array.isArray(value)) throw badRequest(`input '${name}' must be a (nested) array`);
    const shape = nestedShape(value, `input '${name}'`);
    const flat = flatten(value, shape.length);
    if (typeof flat === 'string' || flat.length !== elementCount(shape))
      throw badRequest(`input '${name}' is not a rectangular array of shape [${shape.join(',')}]`);
    const data: TypedArray | string = fromJson(spec.datatype, flat);
    if (typeof data === 'string') throw badRequest(`input '${name}': ${data}`);
    return { name, datatype: spec.datatype, shape, data };
  });
  return { inputs: tensors, parameters: {} };
}

/** Reshapes flat row-major values into nested arrays. */
export function nest(values: readonly (number | boolean)[], shape: readonly number[]): unknown {
  if (shape.length === 0) return values[0];
  const build = (offset: number, dim: number): unknown[] => {
    const n = shape[dim];
    if (dim === shape.length - 1) return values.slice(offset, offset + n) as unknown[];
    const stride = elementCount(shape.slice(dim + 1));
    return Array.from({ length: n }, (_, i) => build(offset + i * stride, dim + 1));
  };
  return build(0, 0);
}
