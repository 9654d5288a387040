// `lathe predict`: a model over an input file, prepared as the model's own inference metadata says (written into
// its ONNX file by training and `lathe export`, see onnx/inference-metadata.ts): image layout and normalisation,
// token ids, class names, and whether outputs are logits. Flags override the metadata; inputs that do not fit the
// model are refused with the expected and actual shapes.
import { existsSync, readFileSync } from 'node:fs';
import { extname } from 'node:path';
import * as ort from 'onnxruntime-node';
import { readIdx } from '../data/idx.js';
import { decodeRaw, toPlanes } from '../data/readers/image-folder.js';
import { resample2d } from '../data/transforms/resample2d.js';
import { dtypeFromOnnx, type DType } from '../graph/dtype.js';
import { decodeModel } from '../onnx/decode.js';
import { readInferenceMetadata, type InferenceMetadata } from '../onnx/inference-metadata.js';
import { createSession } from '../runtime/session.js';
import { UserError } from '../util/errors.js';

/** Input or model that predict cannot use (the message names the file and what is expected). */
class PredictError extends UserError {}

export interface PredictOptions {
  /** Classes (or tokens) to report per row (default 3). */
  readonly top?: number;
  /** Image normalisation, one value per channel (or one for all): overrides the model's metadata. */
  readonly mean?: readonly number[];
  readonly std?: readonly number[];
  /** Class names: override the model's metadata. */
  readonly classes?: readonly string[];
  /** What the model outputs: `logits` get a softmax, `probabilities` are reported as they are. */
  readonly output?: 'logits' | 'probabilities';
  /** Rows per session run (default 256). */
  readonly batchSize?: number;
}

interface Prediction {
  readonly row: number;
  readonly top: readonly { readonly class: number; readonly label?: string; readonly p: number }[];
}

export interface PredictResult {
  readonly predictions: Prediction[];
  /** Things the user should know (inputs resized, metadata missing). */
  readonly warnings: string[];
}

const IMAGE = new Set(['.png', '.jpg', '.jpeg', '.webp', '.gif', '.tif', '.tiff']);

interface ModelInputInfo {
  readonly name: string;
  readonly dtype: DType;
  /** Dims after the batch dim (symbols become undefined). */
  readonly dims: readonly (number | undefined)[];
}

function modelInput(modelPath: string, bytes: Uint8Array): { input: ModelInputInfo; meta?: InferenceMetadata } {
  const model = decodeModel(bytes);
  const inits = new Set(model.graph.initializer.map((t) => t.name));
  const inputs = model.graph.input.filter((i) => !inits.has(i.name));
  if (inputs.length !== 1)
    throw new PredictError(
      `${modelPath}: predict feeds one input; the model has ${inputs.length} (${inputs.map((i) => i.name).join(', ')})`,
    );
  const tt = inputs[0].type?.tensorType;
  if (!tt) throw new PredictError(`${modelPath}: input ${inputs[0].name} is not a tensor`);
  const dims = (tt.shape?.dim ?? []).slice(1).map((d) => ('dimValue' in d ? d.dimValue : undefined));
  return {
    input: { name: inputs[0].name, dtype: dtypeFromOnnx(tt.elemType), dims },
    meta: readInferenceMetadata(model, modelPath),
  };
}

const fmt = (dims: readonly (number | undefined)[]): string => `[${dims.map((d) => d ?? '?').join(', ')}]`;

/** Per-channel values from a flag or the metadata, checked against the channel count. */
function perChannel(v: readonly number[], channels: number, what: string): number[] {
  if (v.length === 1) return new Array<number>(channels).fill(v[0]);
  if (v.length !== channels) throw new PredictError(`--${what}: ${v.length} values for ${channels} channels`);
  return [...v];
}

async function readImages(
  path: string,
  input: ModelInputInfo,
  norm: { mean: number[]; std: number[] },
  warnings: string[],
): Promise<{ data: Float32Array; rows: number }> {
  const [c, h, w] = input.dims;
  if (input.dims.length !== 3 || c === undefined || h === undefined || w === undefined || (c !== 1 && c !== 3)) {
    throw new PredictError(
      `${path}: an image needs a model input of shape [N, 1 or 3, H, W]; the model takes [N, ...${fmt(input.dims)}]`,
    );
  }
  const ext = extname(path).toLowerCase();
  let pixels: Uint8Array;
  let rows: number;
  if (ext === '.gz' || ext === '.idx' || ext.endsWith('ubyte')) {
    const idx = readIdx(path);
    if (c !== 1) throw new PredictError(`${path}: IDX images are greyscale; the model takes ${c} channels`);
    if (idx.dims.length !== 3 || idx.dims[1] !== h || idx.dims[2] !== w)
      throw new PredictError(`${path}: IDX images of shape ${fmt(idx.dims.slice(1))}; the model takes [${h}, ${w}]`);
    [pixels, rows] = [idx.data, idx.dims[0]];
  } else {
    // the training-time decoding (data/readers/image-folder.ts): PIL's greyscale and resize, so predictions see the
    // pixels the model was trained on
    let img: Awaited<ReturnType<typeof decodeRaw>>;
    try {
      img = await decodeRaw(path);
    } catch (err) {
      throw new PredictError((err as Error).message); // names the file: `<path>: cannot decode image (...)`
    }
    if (img.width !== w || img.height !== h)
      warnings.push(`${path}: ${img.width}×${img.height} image resized to the model's ${w}×${h}`);
    if (img.channels >= 3 && c === 1)
      warnings.push(`${path}: colour image converted to greyscale for a 1-channel model`);
    const planes = toPlanes(img, c);
    pixels =
      img.width === w && img.height === h
        ? planes
        : Uint8Array.from(resample2d(planes, c, img.height, img.width, h, w, 'bilinear', true, true));
    rows = 1;
  }
  const plane = h * w;
  const data = new Float32Array(rows * c * plane);
  for (let i = 0; i < data.length; i++) {
    const k = Math.floor(i / plane) % c;
    data[i] = (pixels[i] / 255 - norm.mean[k]) / norm.std[k];
  }
  return { data, rows };
}

function readJsonRows(
  path: string,
  input: ModelInputInfo,
  meta: InferenceMetadata | undefined,
): { data: Float32Array | BigInt64Array; rows: number } {
  let v: unknown;
  try {
    v = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new PredictError(`${path}: not valid JSON (${(err as Error).message})`);
  }
  const flat = (Array.isArray(v) ? v : [v]).flat(Infinity as 1) as unknown[];
  if (!flat.every((x) => typeof x === 'number' && Number.isFinite(x)))
    throw new PredictError(`${path}: expected a JSON array of finite numbers`);
  const per = input.dims.reduce<number>((a, d) => a * (d ?? 1), 1);
  const symbolic = input.dims.some((d) => d === undefined);
  const rows = symbolic && Array.isArray(v) ? v.length : flat.length / per;
  if (!Number.isInteger(rows) || rows === 0 || (!symbolic && flat.length !== rows * per)) {
    throw new PredictError(
      `${path}: ${flat.length} values do not form rows of shape ${fmt(input.dims)} expected by the model`,
    );
  }
  if (input.dtype === 'int64') {
    const vocab = meta?.input.kind === 'tokens' ? meta.input.vocab : undefined;
    const bad = (flat as number[]).find((x) => !Number.isInteger(x) || x < 0 || (vocab !== undefined && x >= vocab));
    if (bad !== undefined) throw new PredictError(`${path}: token id ${bad} is not an integer in [0, ${vocab ?? '∞'})`);
    return { data: BigInt64Array.from(flat as number[], (x) => BigInt(x)), rows };
  }
  if (input.dtype !== 'float32')
    throw new PredictError(`${path}: the model's input is ${input.dtype}; predict feeds float32 or int64`);
  return { data: Float32Array.from(flat as number[]), rows };
}

/** Runs the model at `modelPath` over every row of `inputPath` (.json numbers, IDX images or an image file). */
export async function predictFile(
  modelPath: string,
  inputPath: string,
  opts: PredictOptions = {},
): Promise<PredictResult> {
  const top = opts.top ?? 3;
  if (!(Number.isInteger(top) && top >= 1))
    throw new PredictError(`--top: expected a positive integer, got ${String(opts.top)}`);
  if (!existsSync(modelPath)) throw new PredictError(`${modelPath}: model file not found`);
  if (!existsSync(inputPath)) throw new PredictError(`${inputPath}: input file not found`);
  const bytes = new Uint8Array(readFileSync(modelPath));
  const { input, meta } = modelInput(modelPath, bytes);
  const warnings: string[] = [];
  const ext = extname(inputPath).toLowerCase();
  let fed: { data: Float32Array | BigInt64Array; rows: number };
  if (ext === '.json') fed = readJsonRows(inputPath, input, meta);
  else {
    if (input.dtype !== 'float32')
      throw new PredictError(`${inputPath}: images need a float32 model input; the model takes ${input.dtype}`);
    const channels = input.dims[0] ?? 1;
    const image = meta?.input.kind === 'image' ? meta.input : undefined;
    if (!image && (opts.mean === undefined || opts.std === undefined))
      warnings.push(
        `${modelPath}: no lathe.inference metadata: pixels scaled to [0, 1] (pass --mean/--std to normalise)`,
      );
    const norm = {
      mean: perChannel(opts.mean ?? image?.mean ?? [0], channels, 'mean'),
      std: perChannel(opts.std ?? image?.std ?? [1], channels, 'std'),
    };
    if (norm.std.some((s) => !(s > 0))) throw new PredictError('--std: every value must be positive');
    if (!IMAGE.has(ext) && ext !== '.gz' && ext !== '.idx' && !ext.endsWith('ubyte'))
      throw new PredictError(
        `${inputPath}: unknown input type ${ext || '(no extension)'}: give .json, an image or IDX images`,
      );
    fed = await readImages(inputPath, input, norm, warnings);
  }
  const classes = opts.classes ?? meta?.classes;
  const outputKind = opts.output ?? (meta?.output === 'probabilities' ? 'probabilities' : 'logits');
  const session = await createSession(bytes, { threads: 1 });
  const predictions: Prediction[] = [];
  try {
    const per = fed.data.length / fed.rows;
    const batch = opts.batchSize ?? 256;
    for (let start = 0; start < fed.rows; start += batch) {
      const n = Math.min(batch, fed.rows - start);
      const rowDims = input.dims.map((d) => d ?? per);
      const tensor =
        fed.data instanceof BigInt64Array
          ? new ort.Tensor('int64', fed.data.subarray(start * per, (start + n) * per), [n, ...rowDims])
          : new ort.Tensor('float32', fed.data.subarray(start * per, (start + n) * per), [n, ...rowDims]);
      const out = await session.run({ [input.name]: tensor });
      const y = out[session.outputNames[0]] as ort.Tensor;
      const scores = Float32Array.from(y.data as Float32Array);
      const width = scores.length / n;
      // token logits [n, T, vocab]: score the next token (the last position)
      const c = meta?.output === 'token-logits' ? Number(y.dims[y.dims.length - 1]) : width;
      for (let i = 0; i < n; i++) {
        const row = scores.subarray(i * width + width - c, (i + 1) * width);
        const p = outputKind === 'probabilities' ? Array.from(row) : softmax(row);
        const best = p
          .map((q, j) => ({ class: j, p: q }))
          .sort((a, b) => b.p - a.p)
          .slice(0, top);
        predictions.push({
          row: start + i,
          top: best.map((t) => ({
            class: t.class,
            ...(classes && classes.length === c ? { label: classes[t.class] } : {}),
            p: Math.round(t.p * 1e4) / 1e4,
          })),
        });
      }
    }
  } finally {
    await session.release();
  }
  return { predictions, warnings };
}

function softmax(z: ArrayLike<number>): number[] {
  let m = -Infinity;
  for (let i = 0; i < z.length; i++) m = Math.max(m, z[i]);
  const e = Array.from(z, (v) => Math.exp(v - m));
  const s = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / s);
}
