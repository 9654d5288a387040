// What a model needs at inference, stored in the exported ONNX file's metadata_props (key `lathe.inference`, JSON)
// by training and `lathe export`, and read by `lathe predict` and serving: how inputs are prepared (image layout
// and normalisation, token ids, plain arrays), what the output is, and the class names.
import type { ModelProto } from './proto.js';

const INFERENCE_METADATA_KEY = 'lathe.inference';

type InferenceInput =
  /** Images as [N, channels, height, width] floats: (pixel / 255 − mean[c]) / std[c]. */
  | {
      readonly kind: 'image';
      readonly channels: number;
      readonly height: number;
      readonly width: number;
      readonly mean: readonly number[];
      readonly std: readonly number[];
    }
  /** Token ids (int64) below `vocab`. */
  | { readonly kind: 'tokens'; readonly vocab: number }
  /** Numbers fed as they are. */
  | { readonly kind: 'array' };

export interface InferenceMetadata {
  readonly input: InferenceInput;
  /** `logits`: unnormalised class scores (softmax gives probabilities); `probabilities`: already normalised; `token-logits`: [N, T, vocab]. */
  readonly output: 'logits' | 'probabilities' | 'token-logits';
  readonly classes?: readonly string[];
}

/** The metadata_props entry for `m`. */
export function inferenceMetadataProps(m: InferenceMetadata): Record<string, string> {
  return { [INFERENCE_METADATA_KEY]: JSON.stringify(m) };
}

const isNums = (v: unknown): v is number[] =>
  Array.isArray(v) && v.every((x) => typeof x === 'number' && Number.isFinite(x));

/** Reads and checks the metadata of a model; undefined when it has none (a model lathe did not write). */
export function readInferenceMetadata(model: ModelProto, source = 'model'): InferenceMetadata | undefined {
  const raw = model.metadataProps?.find((p) => p.key === INFERENCE_METADATA_KEY)?.value;
  if (raw === undefined) return undefined;
  let v: unknown;
  try {
    v = JSON.parse(raw);
  } catch {
    throw new Error(`${source}: metadata ${INFERENCE_METADATA_KEY} is not JSON`);
  }
  const bad = (what: string): never => {
    throw new Error(`${source}: metadata ${INFERENCE_METADATA_KEY}: ${what}`);
  };
  const m = v as Partial<InferenceMetadata> & { input?: Record<string, unknown> };
  if (typeof m !== 'object' || m === null || typeof m.input !== 'object' || m.input === null)
    return bad('input is missing');
  const i: Record<string, unknown> = m.input;
  if (i.kind === 'image') {
    for (const k of ['channels', 'height', 'width'] as const)
      if (!(Number.isInteger(i[k]) && (i[k] as number) > 0)) bad(`input.${k} must be a positive integer`);
    if (
      !isNums(i.mean) ||
      !isNums(i.std) ||
      i.mean.length !== i.channels ||
      i.std.length !== i.channels ||
      i.std.some((s) => s <= 0)
    )
      bad('input.mean/std must hold one value per channel (std > 0)');
  } else if (i.kind === 'tokens') {
    if (!(Number.isInteger(i.vocab) && (i.vocab as number) > 0)) bad('input.vocab must be a positive integer');
  } else if (i.kind !== 'array') bad(`input.kind ${JSON.stringify(i.kind)} is not image, tokens or array`);
  if (m.output !== 'logits' && m.output !== 'probabilities' && m.output !== 'token-logits')
    bad(`output ${JSON.stringify(m.output)} is not logits, probabilities or token-logits`);
  if (m.classes !== undefined && !(Array.isArray(m.classes) && m.classes.every((c) => typeof c === 'string')))
    bad('classes must be strings');
  return m as InferenceMetadata;
}
