// The model a deploy ships: resolved like `lathe serve` resolves its source (a file, a run or model folder, or a
// registry URI through serve's registered resolvers), read once and checked to be an ONNX model.
import { readFileSync } from 'node:fs';
import { decodeModel } from '../onnx/decode.js';
import type { GraphProto } from '../onnx/proto.js';
import { readInferenceMetadata, type InferenceMetadata } from '../onnx/inference-metadata.js';
import { registeredModelResolvers, resolveSource } from '../serve/resolver.js';
import { DeployError } from './config.js';

/**
 * The model a deploy ships, as {@link loadDeployModel} resolved and read it: its file, version, bytes, input and output
 * names and lathe's preprocessing metadata.
 */
export interface DeployModel {
  /** The source as the user gave it. */
  readonly source: string;
  /** The file that is shipped (the highest version when the source has several). */
  readonly path: string;
  readonly version: string;
  readonly bytes: Uint8Array;
  /** Graph inputs (initializers excluded) and outputs, by name. */
  readonly inputs: readonly string[];
  readonly outputs: readonly string[];
  /** How inputs are prepared (written by lathe's training/export); undefined for foreign models. */
  readonly metadata?: InferenceMetadata;
}

/** Resolves and reads the model; a missing or non-ONNX source is a DeployError naming it. */
export async function loadDeployModel(source: string): Promise<DeployModel> {
  let versions: Awaited<ReturnType<typeof resolveSource>>;
  try {
    versions = await resolveSource(source, registeredModelResolvers());
  } catch (err) {
    throw new DeployError(`model: ${(err as Error).message}`);
  }
  const chosen = [...versions]
    .sort((a, b) => Number(a.version) - Number(b.version) || a.version.localeCompare(b.version))
    .at(-1)!;
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(chosen.path);
  } catch {
    throw new DeployError(`model: cannot read '${chosen.path}'`);
  }
  let graph: GraphProto;
  let metadata: InferenceMetadata | undefined;
  try {
    const m = decodeModel(bytes);
    graph = m.graph;
    metadata = readInferenceMetadata(m, chosen.path);
  } catch (err) {
    throw new DeployError(`model: '${chosen.path}' is not a readable ONNX model (${(err as Error).message})`);
  }
  const inits = new Set(graph.initializer.map((t) => t.name));
  return {
    source,
    path: chosen.path,
    version: chosen.version,
    bytes,
    inputs: graph.input.filter((i) => !inits.has(i.name)).map((i) => i.name),
    outputs: graph.output.map((o) => o.name),
    ...(metadata ? { metadata } : {}),
  };
}
