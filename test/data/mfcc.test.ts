// Non-power-of-two FFT sizes against torch.stft, and MFCC against torchaudio 0.13's transforms.MFCC
// (test/fixtures/data/mfcc-reference.json from scripts/data/make-mfcc-reference.py).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fft } from '../../src/data/audio/fft.js';
import { stft } from '../../src/data/audio/stft.js';
import { mfcc } from '../../src/data/audio/mfcc.js';

interface Ref {
  n: number;
  sampleRate: number;
  stft400: { bins: number; frames: number; frame3: { re: number[]; im: number[] } };
  stft401: { bins: number; frames: number; frame3: { re: number[]; im: number[] } };
  mfccDefault: number[];
  mfccLogMels: number[];
}
const ref = JSON.parse(readFileSync(join(process.cwd(), 'test/fixtures/data/mfcc-reference.json'), 'utf8')) as Ref;
const signal = Float64Array.from({ length: ref.n }, (_, i) => {
  const t = i / ref.sampleRate;
  return (
    0.5 * Math.sin(2 * Math.PI * 440 * t) +
    0.25 * Math.sin(2 * Math.PI * 3000 * t + 0.3) +
    0.1 * Math.sin(2 * Math.PI * (100 * t + 2000 * t * t))
  );
});

function worst(got: ArrayLike<number>, want: readonly number[]): number {
  assert.equal(got.length, want.length);
  let w = 0;
  for (let i = 0; i < want.length; i++) w = Math.max(w, Math.abs(got[i] - want[i]) / (1 + Math.abs(want[i])));
  return w;
}

test('FFT of any length (Bluestein) matches a direct DFT and inverts: n = 1, 3, 12, 400, 401', () => {
  for (const n of [1, 3, 12, 400, 401]) {
    const x = Float64Array.from({ length: n }, (_, i) => Math.cos(i * 1.3) + i / 7);
    const y = Float64Array.from({ length: n }, (_, i) => Math.sin(i * 0.7));
    const re = x.slice();
    const im = y.slice();
    fft(re, im);
    for (const k of new Set([0, 1, Math.floor(n / 2), n - 1].filter((v) => v < n))) {
      let sr = 0;
      let si = 0;
      for (let t = 0; t < n; t++) {
        const a = (-2 * Math.PI * k * t) / n;
        sr += x[t] * Math.cos(a) - y[t] * Math.sin(a);
        si += x[t] * Math.sin(a) + y[t] * Math.cos(a);
      }
      assert.ok(
        Math.abs(re[k] - sr) < 1e-8 * n && Math.abs(im[k] - si) < 1e-8 * n,
        `n ${n} bin ${k}: ${re[k]} vs ${sr}`,
      );
    }
    fft(re, im, true);
    assert.ok(worst(re, Array.from(x)) < 1e-10 && worst(im, Array.from(y)) < 1e-10, `n ${n} inverse`);
  }
});

test("STFT with torchaudio's default n_fft = 400 (and 401) matches torch.stft", () => {
  for (const nFft of [400, 401] as const) {
    const want = ref[`stft${nFft}`];
    const s = stft(signal, { nFft, hop: 160 });
    assert.deepEqual([s.bins, s.frames], [want.bins, want.frames]);
    const col = (a: Float64Array) => Array.from({ length: s.bins }, (_, k) => a[k * s.frames + 3]);
    assert.ok(worst(col(s.re), want.frame3.re) < 1e-8, `re n_fft ${nFft}`);
    assert.ok(worst(col(s.im), want.frame3.im) < 1e-8, `im n_fft ${nFft}`);
  }
});

test('MFCC equals torchaudio.transforms.MFCC: defaults (dB, 40 of 128 mels, n_fft 400) and log_mels', () => {
  const d = mfcc(signal);
  assert.deepEqual(d.shape, [40, 21]);
  // torchaudio computes in float32: agreement to a few parts in 10⁶ of the largest coefficient
  const scaled = (got: ArrayLike<number>, want: readonly number[]): number => {
    const top = Math.max(...want.map(Math.abs));
    return Math.max(...want.map((v, i) => Math.abs(got[i] - v))) / top;
  };
  const e1 = scaled(d.data as Float32Array, ref.mfccDefault);
  assert.ok(e1 < 3e-6, `default: ${e1}`);
  const l = mfcc(signal, { nMfcc: 13, logMels: true, nFft: 512, hop: 128, nMels: 40 });
  const e2 = scaled(l.data as Float32Array, ref.mfccLogMels);
  assert.ok(e2 < 2e-5, `log mels: ${e2}`);
  assert.throws(() => mfcc(signal, { nMfcc: 200 }), /nMfcc must be an integer in \[1, nMels=128\]/);
});
