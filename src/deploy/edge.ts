// Files of the serverless and browser targets: an AWS Lambda package, a fetch-handler module for edge runtimes,
// and a static browser bundle (index.html, app.js, model.onnx, model.json, onnxruntime-web's WASM files copied
// from node_modules, sample images).
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { basename, dirname, join } from 'node:path';
import { packageRoot } from '../util/package-root.js';
import { DeployError, type DeployConfig } from './config.js';
import { vendorLathe } from './docker.js';
import type { DeployModel } from './model.js';

type Files = Map<string, string | Uint8Array>;

/** The ORT web files the bundle loads: the ESM entry (WASM backend only) and its WASM module. */
const ORT_WEB_FILES = ['ort.wasm.min.mjs', 'ort-wasm-simd-threaded.mjs', 'ort-wasm-simd-threaded.wasm'] as const;

function packageJson(c: DeployConfig, extra: Record<string, unknown>): string {
  const lathe = c.lathePackage === 'vendor' ? 'file:./vendor/lathe' : c.lathePackage;
  return (
    JSON.stringify(
      {
        name: `${c.name}-${c.target}`,
        version: '1.0.0',
        private: true,
        type: 'module',
        ...extra,
        dependencies: { lathe },
      },
      null,
      2,
    ) + '\n'
  );
}

export function addLambdaHandler(c: DeployConfig, model: DeployModel, files: Files): void {
  files.set(
    'index.mjs',
    `// AWS Lambda (Node.js 20, API Gateway HTTP API / function URL): lathe's OIP v2 routes for '${c.name}'.
// Package: npm install --omit=dev --install-links && zip -r function.zip index.mjs model.onnx package.json node_modules
import { fileURLToPath } from 'node:url';
import { createLambdaHandler } from 'lathe/deploy/lambda';

export const handler = createLambdaHandler({ model: fileURLToPath(new URL('./model.onnx', import.meta.url)), name: ${JSON.stringify(c.name)} });
`,
  );
  files.set('package.json', packageJson(c, { main: 'index.mjs' }));
  files.set('model.onnx', model.bytes);
  if (c.lathePackage === 'vendor') vendorLathe(packageRoot(), files);
}

export function addFetchHandler(c: DeployConfig, model: DeployModel, files: Files): void {
  files.set(
    'worker.mjs',
    `// A web-standard fetch handler (Cloudflare Workers, Deno, Bun, Vercel Edge, ...): lathe's OIP v2 routes for
// '${c.name}', the model run by onnxruntime-web (WASM). Bundle with your platform's tool (model.onnx as a binary asset).
import { createFetchHandler } from 'lathe/deploy/fetch';
import model from './model.onnx';

export default { fetch: createFetchHandler({ model, name: ${JSON.stringify(c.name)} }) };
`,
  );
  files.set('package.json', packageJson(c, { main: 'worker.mjs' }));
  files.set('model.onnx', model.bytes);
  if (c.lathePackage === 'vendor') vendorLathe(packageRoot(), files);
}

/** The browser bundle's model.json: input name, [C, H, W], normalisation, classes, output kind, samples. */
function browserModelConfig(c: DeployConfig, model: DeployModel): Record<string, unknown> {
  const meta = model.metadata;
  const image = meta?.input.kind === 'image' ? meta.input : undefined;
  if (!image)
    throw new DeployError(
      `target browser: model '${model.path}' has no image input metadata (lathe writes it when it trains or exports an image model); the bundle classifies images`,
    );
  const shape = [image.channels, image.height, image.width];
  if (model.inputs.length !== 1)
    throw new DeployError(
      `target browser: the model has ${model.inputs.length} inputs; the bundle feeds one image input`,
    );
  const perChannel = (v: readonly number[] | undefined, fallback: readonly number[], what: string): number[] => {
    const x = v ?? fallback;
    if (x.length === 1) return new Array<number>(shape[0]).fill(x[0]);
    if (x.length !== shape[0]) throw new DeployError(`preprocess.${what}: ${x.length} values for ${shape[0]} channels`);
    return [...x];
  };
  return {
    name: c.name,
    input: model.inputs[0],
    output: model.outputs[0],
    shape,
    mean: perChannel(c.preprocess?.mean, image.mean, 'mean'),
    std: perChannel(c.preprocess?.std, image.std, 'std'),
    outputKind: meta?.output === 'probabilities' ? 'probabilities' : 'logits',
    classes: c.preprocess?.classes ?? meta?.classes ?? null,
    samples: c.samples.map((s) => basename(s)),
  };
}

export function addBrowserBundle(c: DeployConfig, model: DeployModel, files: Files): void {
  const cfg = browserModelConfig(c, model);
  const names = new Set<string>();
  for (const s of c.samples) {
    if (!existsSync(s)) throw new DeployError(`samples: '${s}' does not exist`);
    if (names.has(basename(s))) throw new DeployError(`samples: two files are named '${basename(s)}'`);
    names.add(basename(s));
    files.set(`samples/${basename(s)}`, readFileSync(s));
  }
  const assets = join(packageRoot(), 'src', 'deploy', 'browser');
  for (const f of ['index.html', 'app.js']) files.set(f, readFileSync(join(assets, f)));
  let ortDist: string;
  try {
    // its exports map hides package.json; the CommonJS entry is dist/ort.min.js
    ortDist = dirname(createRequire(join(packageRoot(), 'package.json')).resolve('onnxruntime-web'));
  } catch {
    throw new DeployError('target browser needs the onnxruntime-web package (npm install onnxruntime-web)');
  }
  for (const f of ORT_WEB_FILES) files.set(`ort/${f}`, readFileSync(join(ortDist, f)));
  files.set('model.onnx', model.bytes);
  files.set('model.json', JSON.stringify(cfg, null, 2) + '\n');
}
