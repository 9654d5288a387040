// `npm run quality -- <name> [--seconds N]`: full-quality runs of the model zoo on real data, printing one JSON line
// per result (docs/models.md records them).
//   gpt | lstm | gru   char-level LM on the Debian licence texts (/usr/share/common-licenses, regular files only,
//                      sorted by name, concatenated; 90/10 train/validation split by position): validation
//                      bits per character after a wall-clock training budget (default 300 s).
//   generation         tokens/s of GPT generation with and without the KV cache at growing lengths.
import { lstatSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ndarray, type NDArray } from '../src/graph/ndarray.js';
import type { Tensor } from '../src/graph/tensor.js';
import { manualSeed, type Module } from '../src/nn/index.js';
import { withFrozenParameters } from '../src/nn/export.js';
import { adam, cosineWithWarmup } from '../src/optim/index.js';
import { compile } from '../src/runtime/compile.js';
import { Trainer } from '../src/train/trainer.js';
import { ArrayLoader } from '../src/train/loader.js';
import { GPT, lmLoss } from '../src/models/transformer.js';
import { CharRNN } from '../src/models/rnn.js';
import { TextGenerator } from '../src/models/generate.js';

const CORPUS_DIR = '/usr/share/common-licenses';
/** Printable ASCII 32..126 and newline: 96 symbols; anything else maps to space. */
const VOCAB = '\n' + Array.from({ length: 95 }, (_, i) => String.fromCharCode(32 + i)).join('');
const CTX = 64;

export function loadCorpus(dir = CORPUS_DIR): { text: string; files: string[] } {
  const files = readdirSync(dir).sort().filter((f) => lstatSync(join(dir, f)).isFile());
  return { text: files.map((f) => readFileSync(join(dir, f), 'latin1')).join('\n'), files };
}

export const encode = (s: string): number[] => [...s].map((c) => {
  const i = VOCAB.indexOf(c === '\t' ? ' ' : c);
  return i < 0 ? 1 : i;
});
export const decode = (ids: readonly number[]): string => ids.map((i) => VOCAB[i]).join('');

/** Windows [n, T] of ids with next-character targets; `stride` T gives non-overlapping windows. */
function windows(ids: readonly number[], stride: number): { x: NDArray; y: NDArray } {
  const xs: number[] = [];
  const ys: number[] = [];
  let n = 0;
  for (let o = 0; o + CTX + 1 <= ids.length; o += stride) {
    xs.push(...ids.slice(o, o + CTX));
    ys.push(...ids.slice(o + 1, o + CTX + 1));
    n++;
  }
  return { x: ndarray('int64', [n, CTX], xs), y: ndarray('int64', [n, CTX], ys) };
}

async function validationBpc(model: Module, val: { x: NDArray; y: NDArray }): Promise<number> {
  const f = compile((x: Tensor, y: Tensor) => withFrozenParameters(model, () => lmLoss(model.forward(x), y)));
  const n = val.x.shape[0];
  const b = 64;
  let total = 0;
  let count = 0;
  for (let i = 0; i < n; i += b) {
    const m = Math.min(b, n - i);
    const sl = (a: NDArray) => ndarray('int64', [m, CTX], (a.data as BigInt64Array).slice(i * CTX, (i + m) * CTX));
    const l = await f(sl(val.x), sl(val.y));
    total += Number((l.data as Float32Array)[0]) * m;
    count += m;
  }
  return total / count / Math.LN2;
}

function makeModel(name: string): Module {
  manualSeed(0);
  if (name === 'gpt') return new GPT({ vocab: 96, context: CTX, dim: 128, layers: 2, heads: 4, positions: 'rope' });
  if (name === 'lstm') return new CharRNN({ cell: 'lstm', vocab: 96, context: CTX, embed: 64, hidden: 256 });
  if (name === 'gru') return new CharRNN({ cell: 'gru', vocab: 96, context: CTX, embed: 64, hidden: 300 });
  throw new Error(`unknown model ${name}`);
}

async function charLm(name: string, seconds: number): Promise<void> {
  const { text, files } = loadCorpus();
  const ids = encode(text);
  const cut = Math.floor(ids.length * 0.9);
  const train = windows(ids.slice(0, cut), 16);
  const val = windows(ids.slice(cut), CTX);
  const model = makeModel(name);
  const lr = name === 'gpt' ? 2e-3 : 3e-3;
  const steps = Math.ceil(train.x.shape[0] / 32) * 100;
  const t0 = Date.now();
  let stepsDone = 0;
  const trainer = new Trainer({
    model, optimizer: adam(), lr: cosineWithWarmup(lr, steps, { warmup: 100 }), epochs: 100, seed: 1, clipGradNorm: 1,
    loss: (o, b) => lmLoss(o, b.y),
    callbacks: [{ name: 'budget', onBatchEnd: (t, l) => { stepsDone = l.step; if (Date.now() - t0 > seconds * 1000) t.shouldStop = true; } }],
  });
  await trainer.fit(new ArrayLoader(train, { batchSize: 32, shuffle: true, seed: 2, dropLast: true }));
  await trainer.release();
  const bpc = await validationBpc(model, val);
  const line: Record<string, unknown> = {
    quality: `${name}-charlm`, corpus: CORPUS_DIR, files: files.length, chars: ids.length, train_chars: cut, val_chars: ids.length - cut,
    params: model.parameterCount(), train_seconds: Math.round((Date.now() - t0) / 1000), steps: stepsDone, batch: 32, context: CTX, val_bpc: Math.round(bpc * 1000) / 1000,
  };
  if (model instanceof GPT) {
    const gen = new TextGenerator(model);
    const prompt = encode('This License ');
    line.sample_t08_topk20 = decode(prompt) + decode(await gen.generate(prompt, { maxNewTokens: 48, temperature: 0.8, topK: 20, seed: 3 }));
    line.sample_t1_topp09 = decode(prompt) + decode(await gen.generate(prompt, { maxNewTokens: 48, temperature: 1, topP: 0.9, seed: 4 }));
  }
  console.log(JSON.stringify(line));
}

async function generationSpeed(): Promise<void> {
  manualSeed(0);
  const model = new GPT({ vocab: 96, context: 512, dim: 128, layers: 2, heads: 4 });
  const gen = new TextGenerator(model);
  const prompt = encode('The ');
  await gen.generate(prompt, { maxNewTokens: 8 });
  await gen.generate(prompt, { maxNewTokens: 8, cache: false });
  for (const n of [32, 128, 384]) {
    const r: Record<string, number> = {};
    for (const cache of [true, false]) {
      const t0 = performance.now();
      await gen.generate(prompt, { maxNewTokens: n, cache, seed: 1 });
      r[cache ? 'cached_tokens_per_s' : 'uncached_tokens_per_s'] = Math.round((n / ((performance.now() - t0) / 1000)) * 10) / 10;
    }
    console.log(JSON.stringify({ quality: 'gpt-generation', new_tokens: n, ...r, speedup: Math.round((r.cached_tokens_per_s / r.uncached_tokens_per_s) * 100) / 100 }));
  }
}

const [name, ...rest] = process.argv.slice(2);
const si = rest.indexOf('--seconds');
const seconds = si >= 0 ? Number(rest[si + 1]) : 300;
if (name === 'gpt' || name === 'lstm' || name === 'gru') await charLm(name, seconds);
else if (name === 'generation') await generationSpeed();
else {
  console.error('usage: npm run quality -- <gpt|lstm|gru|generation> [--seconds N]');
  process.exit(2);
}
