// lathe's browser bundle: the model runs client-side with onnxruntime-web (WASM, one thread: a static host sends
// no cross-origin isolation headers, which threads need). Images are prepared as lathe serve's predict prepares
// them (serve/predict.ts): drawn at the model's height × width, greyscale for one channel, planar CHW, then
// (pixel / 255 − mean[c]) / std[c]; logits get a softmax.
import * as ort from './ort/ort.wasm.min.mjs';

ort.env.wasm.wasmPaths = new URL('./ort/', import.meta.url).href;
ort.env.wasm.numThreads = 1;

const cfg = await (await fetch('./model.json')).json();
const [channels, height, width] = cfg.shape;
const status = document.getElementById('status');
document.getElementById('title').textContent = cfg.name;
const t0 = performance.now();
const session = await ort.InferenceSession.create('./model.onnx', { executionProviders: ['wasm'] });
const loadMs = performance.now() - t0;
status.textContent = `model loaded in ${loadMs.toFixed(0)} ms`;

const canvas = new OffscreenCanvas(width, height);
const ctx = canvas.getContext('2d', { willReadFrequently: true });

/** The model input for one image: Float32Array [1, C, H, W]. */
async function tensorOf(blob) {
  const bmp = await createImageBitmap(blob);
  ctx.clearRect(0, 0, width, height);
  ctx.drawImage(bmp, 0, 0, width, height);
  const rgba = ctx.getImageData(0, 0, width, height).data;
  const plane = width * height;
  const x = new Float32Array(channels * plane);
  for (let p = 0; p < plane; p++) {
    const [r, g, b] = [rgba[4 * p], rgba[4 * p + 1], rgba[4 * p + 2]];
    for (let k = 0; k < channels; k++) {
      const v = channels === 1 ? Math.round(0.2126 * r + 0.7152 * g + 0.0722 * b) : [r, g, b][k];
      x[k * plane + p] = (v / 255 - cfg.mean[k]) / cfg.std[k];
    }
  }
  return x;
}

function softmax(v) {
  const m = Math.max(...v);
  const e = v.map((z) => Math.exp(z - m));
  const s = e.reduce((a, b) => a + b, 0);
  return e.map((z) => z / s);
}

/** Classifies one image: input tensor, raw outputs, probabilities, top 3, and the milliseconds of session.run. */
async function classify(blob) {
  const input = await tensorOf(blob);
  const t = performance.now();
  const out = await session.run({ [cfg.input]: new ort.Tensor('float32', input, [1, channels, height, width]) });
  const ms = performance.now() - t;
  const raw = Array.from(out[cfg.output].data);
  const probs = cfg.outputKind === 'probabilities' ? raw : softmax(raw);
  const top = probs.map((p, i) => ({ class: i, label: cfg.classes?.[i], p })).sort((a, b) => b.p - a.p).slice(0, 3);
  return { input: Array.from(input), output: raw, probs, top, ms };
}

const tbody = document.querySelector('#results tbody');
function show(name, url, r) {
  const tr = document.createElement('tr');
  const img = document.createElement('img');
  img.src = url;
  const cells = [img, name, r.top.map((t) => `${t.label ?? t.class} ${(100 * t.p).toFixed(1)}%`).join(', '), r.ms.toFixed(2)];
  for (const c of cells) {
    const td = document.createElement('td');
    if (typeof c === 'string') td.textContent = c;
    else td.append(c);
    tr.append(td);
  }
  tbody.append(tr);
}

async function classifyFiles(files) {
  for (const f of files) show(f.name, URL.createObjectURL(f), await classify(f));
}
document.getElementById('file').addEventListener('change', (e) => classifyFiles(e.target.files));
const drop = document.getElementById('drop');
drop.addEventListener('dragover', (e) => e.preventDefault());
drop.addEventListener('drop', (e) => {
  e.preventDefault();
  classifyFiles(e.dataTransfer.files);
});

// The bundled sample images, classified at load; results on window for tests and the console.
const results = [];
for (const name of cfg.samples) {
  const url = `./samples/${encodeURIComponent(name)}`;
  const blob = await (await fetch(url)).blob();
  const r = await classify(blob);
  results.push({ file: name, ...r });
  show(name, url, r);
}
window.lathe = { classify, loadMs, results };
status.textContent = `model loaded in ${loadMs.toFixed(0)} ms; ${results.length} sample image(s) classified`;
document.body.dataset.ready = 'true';
