// Open Inference Protocol v2 request parsing and validation (REST/JSON form), and the
// simpler /predict form. Every rejection is a 400 whose message names the field at fault.
import { fromJson, isOipDatatype, OIP_DATATYPES, toJson, type OipDatatype, type TypedArray } from './datatypes.js';
import { badRequest } from './errors.js';
import { elementCount, type HostTensor, type ModelSignature } from './tensor.js';

/** A parsed inference request, not yet checked against a model. */
export interface InferRequest {
  readonly id?: string;
  readonly inputs: readonly HostTensor[];
  /** Requested output names; undefined = all. */
  readonly outputs?: readonly string[];
  readonly parameters: Readonly<Record<string, unknown>>;
}

export interface InferResponseJson {
  readonly model_name: string;
  readonly model_version: string;
  readonly id?: string;
  readonly parameters?: Readonly<Record<string, unknown>>;
  readonly outputs: readonly { readonly name: string; readonly datatype: OipDatatype; readonly shape: readonly number[]; readonly data: readonly (number | boolean)[] }[];
}

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

/** Parses the body of `POST /v2/models/{name}/infer`. */
export function parseInferRequest(body: unknown): InferRequest {
  if (!isRecord(body)) throw badRequest('request body must be a JSON object with an "inputs" array');
  const { id, inputs, outputs, parameters } = body;
  if (id !== undefined && typeof id !== 'string') throw badRequest('"id" must be a string');
  if (parameters !== undefined && !isRecord(parameters)) throw badRequest('"parameters" must be an object');
  if (!Array.isArray(inputs) || inputs.length === 0) throw badRequest('"inputs" must be a non-empty array');
  const seen = new Set<string>();
  const tensors = inputs.map((raw, k) => {
    const where = `inputs[${k}]`;
    if (!isRecord(raw)) throw badRequest(`${where} must be an object with name, shape, datatype and data`);
    const { name, shape, datatype, data } = raw;
    if (typeof name !== 'string' || name.length === 0) throw badRequest(`${where}.name must be a non-empty string`);
    if (seen.has(name)) throw badRequest(`input '${name}' appears twice`);
    seen.add(name);
    if (!isOipDatatype(datatype)) throw badRequest(`input '${name}': datatype ${JSON.stringify(datatype)} is not one of ${OIP_DATATYPES.join(', ')}`);
    if (!Array.isArray(shape) || shape.length > MAX_RANK || !shape.every((d) => Number.isSafeInteger(d) && (d as number) >= 0)) {
      throw badRequest(`input '${name}': shape must be an array of at most ${MAX_RANK} non-negative integers`);
    }
    if (!Array.isArray(data)) throw badRequest(`input '${name}': data must be an array (flat or nested, row-major)`);
    const flat = flatten(data, Math.max(1, shape.length));
    if (typeof flat === 'string') throw badRequest(`input '${name}': data ${flat} (${shape.length})`);
    const dims = shape as number[];
    const expected = elementCount(dims);
    if (flat.length !== expected) throw badRequest(`input '${name}': data has ${flat.length} elements, shape [${dims.join(',')}] needs ${expected}`);
    const typed = fromJson(datatype, flat);
    if (typeof typed === 'string') throw badRequest(`input '${name}': data ${typed}`);
    return { name, datatype, shape: dims, data: typed };
  });
  let wanted: string[] | undefined;
  if (outputs !== undefined) {
    if (!Array.isArray(outputs)) throw badRequest('"outputs" must be an array of {name}');
    wanted = outputs.map((o, k) => {
      if (!isRecord(o) || typeof o.name !== 'string') throw badRequest(`outputs[${k}].name must be a string`);
      return o.name;
    });
  }
  return { id, inputs: tensors, outputs: wanted, parameters: (parameters as Record<string, unknown> | undefined) ?? {} };
}

/**
 * Checks a request against a model signature and returns its inputs in signature order.
 * `maxBatchSize` bounds the leading dimension of batchable models.
 */
export function validateInputs(model: string, sig: ModelSignature, req: InferRequest, maxBatchSize: number): HostTensor[] {
  const byName = new Map(req.inputs.map((t) => [t.name, t]));
  for (const t of req.inputs) {
    if (!sig.inputs.some((s) => s.name === t.name)) {
      throw badRequest(`model '${model}' has no input '${t.name}'; its inputs are ${sig.inputs.map((s) => s.name).join(', ')}`);
    }
  }
  let rows: number | undefined;
  const ordered = sig.inputs.map((spec) => {
    const t = byName.get(spec.name);
    if (!t) throw badRequest(`input '${spec.name}' is missing (model '${model}' needs ${sig.inputs.map((s) => s.name).join(', ')})`);
    if (t.datatype !== spec.datatype) throw badRequest(`input '${spec.name}' has datatype ${t.datatype}, model '${model}' expects ${spec.datatype}`);
    const want = `[${spec.shape.map((d) => (d < 0 ? '-1' : d)).join(',')}]`;
    if (t.shape.length !== spec.shape.length) throw badRequest(`input '${spec.name}' has shape [${t.shape.join(',')}], model '${model}' expects ${want}`);
    spec.shape.forEach((d, i) => {
      if (d >= 0 && t.shape[i] !== d) throw badRequest(`input '${spec.name}' has shape [${t.shape.join(',')}], model '${model}' expects ${want} (dimension ${i} must be ${d})`);
    });
    if (sig.batchable) {
      const r = t.shape[0];
      if (r === 0) throw badRequest(`input '${spec.name}' has an empty batch (dimension 0 is 0)`);
      if (rows !== undefined && r !== rows) throw badRequest(`input '${spec.name}' has batch size ${r}, other inputs have ${rows}`);
      rows = r;
    }
    if (t.data.length === 0) throw badRequest(`input '${spec.name}' is empty`);
    return t;
  });
  if (sig.batchable && rows !== undefined && rows > maxBatchSize && maxBatchSize > 1) {
    throw badRequest(`batch size ${rows} exceeds max_batch_size ${maxBatchSize} of model '${model}'`);
  }
  if (req.outputs) {
    for (const o of req.outputs) {
      if (!sig.outputs.some((s) => s.name === o)) throw badRequest(`model '${model}' has no output '${o}'; its outputs are ${sig.outputs.map((s) => s.name).join(', ')}`);
    }
  }
  return ordered;
}

export function encodeResponse(model: string, version: string, id: string | undefined, outputs: readonly HostTensor[], wanted: readonly string[] | undefined, parameters?: Record<string, unknown>): InferResponseJson {
  const chosen = wanted ? outputs.filter((o) => wanted.includes(o.name)) : outputs;
  return {
    model_name: model,
    model_version: version,
    ...(id !== undefined ? { id } : {}),
    ...(parameters && Object.keys(parameters).length > 0 ? { parameters } : {}),
    outputs: chosen.map((o) => ({ name: o.name, datatype: o.datatype, shape: [...o.shape], data: toJson(o.datatype, o.data) })),
  };
}

/** Shape of a rectangular nested array, or an error message. */
export function nestedShape(value: unknown, where: string): number[] {
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
  const named: Record<string, unknown> = Array.isArray(inputs) ? { [sig.inputs.length === 1 ? sig.inputs[0].name : '']: inputs } : isRecord(inputs) ? inputs : {};
  if (!Array.isArray(inputs) && !isRecord(inputs)) throw badRequest('"inputs" must be an object {name: nested array} or, for a one-input model, a nested array');
  if (Array.isArray(inputs) && sig.inputs.length !== 1) throw badRequest(`model '${model}' takes ${sig.inputs.length} inputs; send "inputs" as an object {${sig.inputs.map((s) => s.name).join(', ')}}`);
  const tensors: HostTensor[] = Object.entries(named).map(([name, value]) => {
    const spec = sig.inputs.find((s) => s.name === name);
    if (!spec) throw badRequest(`model '${model}' has no input '${name}'; its inputs are ${sig.inputs.map((s) => s.name).join(', ')}`);
    if (!Array.isArray(value)) throw badRequest(`input '${name}' must be a (nested) array`);
    const shape = nestedShape(value, `input '${name}'`);
    const flat = flatten(value, shape.length);
    if (typeof flat === 'string' || flat.length !== elementCount(shape)) throw badRequest(`input '${name}' is not a rectangular array of shape [${shape.join(',')}]`);
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
