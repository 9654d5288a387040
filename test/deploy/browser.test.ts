// The browser bundle in Debian's Chromium (playwright-core): `lathe deploy --target browser` with Fashion-MNIST
// test images as samples, served by `lathe deploy preview`'s server on 127.0.0.1; the page loads onnxruntime-web's
// WASM from the bundle, classifies every sample at load, and its inputs and predictions equal lathe serve's for
// the same images (inputs exactly: the same pixels and normalisation; logits within 1e-4, the same class).
// In-browser latency per image (session.run) is printed next to Node's (onnxruntime-node, one thread).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { deploy, startPreview } from '../../src/deploy/index.js';
import { FASHION_CLASSES, FASHION_MEAN, FASHION_STD } from '../../src/data/fashion.js';
import { readIdx } from '../../src/data/idx.js';
import { decodeModel } from '../../src/onnx/decode.js';
import { encodeModel } from '../../src/onnx/encode.js';
import { inferenceMetadataProps } from '../../src/onnx/inference-metadata.js';
import { createServer, parseServeConfig } from '../../src/serve/index.js';
import { CNN, tempDir } from './helpers.js';
import { chromiumMissing, launchChromium } from '../util/chromium.js';

const IMAGES = 8;

interface PageResult {
  file: string;
  input: number[];
  output: number[];
  top: { class: number; label?: string; p: number }[];
  ms: number;
}

const median = (v: number[]): number => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)];

test('browser bundle: Chromium classifies the sample images as lathe serve does', { timeout: 180_000 }, async (t) => {
  const missing = chromiumMissing();
  if (missing) return t.skip(missing);
  const dir = tempDir();
  // The serve fixture CNN with the inference metadata lathe's training writes (Fashion-MNIST normalisation, classes).
  const model = decodeModel(readFileSync(CNN));
  const meta = inferenceMetadataProps({
    input: { kind: 'image', channels: 1, height: 28, width: 28, mean: [FASHION_MEAN], std: [FASHION_STD] },
    output: 'logits',
    classes: [...FASHION_CLASSES],
  });
  const modelPath = join(dir, 'model.onnx');
  writeFileSync(
    modelPath,
    encodeModel({ ...model, metadataProps: Object.entries(meta).map(([key, value]) => ({ key, value })) }),
  );
  // Test images as PNG files, and the tensors the server gets for them.
  const idx = readIdx(join(process.cwd(), 'data', 'fashion-mnist-subset', 't10k-images-idx3-ubyte.gz'));
  mkdirSync(join(dir, 'img'));
  const samples: string[] = [];
  const inputs: Float32Array[] = [];
  for (let k = 0; k < IMAGES; k++) {
    const pixels = idx.data.subarray(k * 784, (k + 1) * 784);
    const file = join(dir, 'img', `test-${k}.png`);
    await sharp(Buffer.from(pixels), { raw: { width: 28, height: 28, channels: 1 } })
      .png()
      .toFile(file);
    samples.push(file);
    inputs.push(Float32Array.from(pixels, (p) => (p / 255 - FASHION_MEAN) / FASHION_STD));
  }
  const out = join(dir, 'bundle');
  await deploy({ model: modelPath, target: 'browser', out, name: 'fashion-cnn', samples });
  for (const f of [
    'index.html',
    'app.js',
    'model.onnx',
    'model.json',
    'ort/ort.wasm.min.mjs',
    'ort/ort-wasm-simd-threaded.wasm',
    'samples/test-0.png',
  ])
    assert.ok(existsSync(join(out, f)), f);

  const preview = await startPreview(out, 0);
  assert.match(preview.url, /^http:\/\/127\.0\.0\.1:\d+$/);
  assert.equal(
    (await fetch(`${preview.url}/ort/ort-wasm-simd-threaded.wasm`, { method: 'HEAD' })).headers.get('content-type'),
    'application/wasm',
  );
  assert.equal((await fetch(`${preview.url}/../package.json`)).status, 404);
  const server = await createServer({
    config: parseServeConfig({
      server: { logLevel: 'silent', readinessDrainMs: 0 },
      models: { 'fashion-cnn': { source: modelPath, instances: 1, intraOpThreads: 1, warmup: { runs: 1 } } },
    }),
  });
  const browser = await launchChromium();
  try {
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    const t0 = performance.now();
    await page.goto(preview.url + '/');
    await page.waitForSelector('body[data-ready="true"]', { timeout: 150_000 });
    const pageMs = performance.now() - t0;
    assert.deepEqual(errors, []);
    const { results, loadMs } = (await page.evaluate(
      '({ results: window.lathe.results, loadMs: window.lathe.loadMs })',
    )) as { results: PageResult[]; loadMs: number };
    assert.equal(results.length, IMAGES);
    assert.equal(await page.locator('#results tbody tr').count(), IMAGES);

    const nodeMs: number[] = [];
    for (let k = 0; k < IMAGES; k++) {
      const r = results[k];
      assert.equal(r.file, `test-${k}.png`);
      assert.deepEqual(
        Float32Array.from(r.input),
        inputs[k],
        `image ${k}: the page's input tensor equals the server's`,
      );
      const t1 = performance.now();
      const reply = await server.app.inject({
        method: 'POST',
        url: '/v2/models/fashion-cnn/infer',
        payload: { inputs: [{ name: 'image', datatype: 'FP32', shape: [1, 1, 28, 28], data: Array.from(inputs[k]) }] },
      });
      nodeMs.push(performance.now() - t1);
      const logits = (JSON.parse(reply.body) as { outputs: { data: number[] }[] }).outputs[0].data;
      const best = logits.indexOf(Math.max(...logits));
      assert.equal(r.top[0].class, best, `image ${k}: the page's class equals the server's`);
      assert.equal(r.top[0].label, FASHION_CLASSES[best]);
      r.output.forEach((v, i) =>
        assert.ok(Math.abs(v - logits[i]) <= 1e-4, `image ${k} logit ${i}: ${v} (browser) vs ${logits[i]} (server)`),
      );
    }
    // Node: session.run alone at one thread, as the page measures it (the server's answer above adds HTTP and JSON).
    const { createSession } = await import('../../src/runtime/session.js');
    const ort = await import('onnxruntime-node');
    const session = await createSession(modelPath, { threads: 1, spinning: false });
    const runMs: number[] = [];
    for (let rep = 0; rep < 3; rep++) {
      for (const x of inputs) {
        const t1 = performance.now();
        await session.run({ image: new ort.Tensor('float32', x, [1, 1, 28, 28]) });
        runMs.push(performance.now() - t1);
      }
    }
    await session.release();
    const browserMs = results.map((r) => r.ms);
    console.log(
      `browser-latency: ${JSON.stringify({ images: IMAGES, browser_run_ms_median: +median(browserMs).toFixed(2), node_run_ms_median: +median(runMs).toFixed(3), node_server_inject_ms_median: +median(nodeMs).toFixed(2), browser_model_load_ms: Math.round(loadMs), page_ready_ms: Math.round(pageMs) })}`,
    );
  } finally {
    await browser.close();
    await server.close();
    await preview.close();
  }
});

test('browser target: a model without image metadata, or a missing sample, is refused and nothing written', async () => {
  const out = join(tempDir(), 'bundle');
  await assert.rejects(deploy({ model: CNN, target: 'browser', out }), /has no image input metadata/);
  assert.ok(!existsSync(out));
});
