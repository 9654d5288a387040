// Audio against reference values from PyTorch 1.13 (torch.stft) and a numpy transcription of torchaudio's
// melscale_fbanks, generated once by scripts/data/make-audio-reference.py (test/fixtures/data/audio-reference.json).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fft } from '../../src/data/audio/fft.js';
import { stft, spectrogram } from '../../src/data/audio/stft.js';
import { logMelSpectrogram, melFilterbank, hzToMel, melToHz } from '../../src/data/audio/mel.js';
import { resample } from '../../src/data/audio/resample.js';
import { decodeWav, encodeWav, readWav, toMono, writeWav } from '../../src/data/readers/wav.js';

interface Ref {
  sampleRate: number;
  n: number;
  nFft: number;
  hop: number;
  nMels: number;
  bins: number;
  frames: number;
  stftFrames: Record<string, { re: number[]; im: number[] }>;
  powerFrameSums: number[];
  htk: { fbColumns: Record<string, number[]>; logMelDb: number[] };
  slaney: { fbColumns: Record<string, number[]>; logMelDb: number[] };
}
const ref = JSON.parse(readFileSync(join(process.cwd(), 'test/fixtures/data/audio-reference.json'), 'utf8')) as Ref;

/** The generator's signal, evaluated in float64. */
const signal = Float64Array.from({ length: ref.n }, (_, i) => {
  const t = i / ref.sampleRate;
  return (
    0.5 * Math.sin(2 * Math.PI * 440 * t) +
    0.25 * Math.sin(2 * Math.PI * 3000 * t + 0.3) +
    0.1 * Math.sin(2 * Math.PI * (100 * t + 2000 * t * t))
  );
});

const close = (got: ArrayLike<number>, want: readonly number[], tol: number, what: string) => {
  assert.equal(got.length, want.length, `${what}: length`);
  for (let i = 0; i < want.length; i++)
    assert.ok(Math.abs(got[i] - want[i]) <= tol * (1 + Math.abs(want[i])), `${what}[${i}]: ${got[i]} vs ${want[i]}`);
};

test('radix-2 FFT matches a direct DFT and inverts', () => {
  const n = 16;
  const x = Float64Array.from({ length: n }, (_, i) => Math.cos(i * 1.3) + i / 7);
  const re = x.slice();
  const im = new Float64Array(n);
  fft(re, im);
  for (let k = 0; k < n; k++) {
    let sr = 0;
    let si = 0;
    for (let t = 0; t < n; t++)
      (sr += x[t] * Math.cos((-2 * Math.PI * k * t) / n)), (si += x[t] * Math.sin((-2 * Math.PI * k * t) / n));
    assert.ok(Math.abs(re[k] - sr) < 1e-9 && Math.abs(im[k] - si) < 1e-9, `bin ${k}`);
  }
  fft(re, im, true);
  close(re, Array.from(x), 1e-12, 'inverse');
  assert.throws(() => fft(new Float64Array(12), new Float64Array(11)), /same length/);
});

test('STFT matches torch.stft (centre, reflect, periodic Hann)', () => {
  const s = stft(signal, { nFft: ref.nFft, hop: ref.hop });
  assert.deepEqual([s.bins, s.frames], [ref.bins, ref.frames]);
  for (const [t, want] of Object.entries(ref.stftFrames)) {
    const col = (a: Float64Array) => Array.from({ length: s.bins }, (_, k) => a[k * s.frames + Number(t)]);
    close(col(s.re), want.re, 1e-7, `re frame ${t}`);
    close(col(s.im), want.im, 1e-7, `im frame ${t}`);
  }
  const p = spectrogram(signal, { nFft: ref.nFft, hop: ref.hop });
  const sums = Array.from({ length: ref.frames }, (_, t) =>
    Array.from({ length: ref.bins }, (_, k) => p.data[k * ref.frames + t]).reduce((a, b) => a + b, 0),
  );
  close(sums, ref.powerFrameSums, 1e-5, 'power frame sums');
});

test('mel filterbanks (HTK, and Slaney scale with Slaney norm) and log-mel spectrograms match the reference', () => {
  for (const [scale, norm] of [
    ['htk', 'none'],
    ['slaney', 'slaney'],
  ] as const) {
    const fb = melFilterbank({ sampleRate: ref.sampleRate, nFft: ref.nFft, nMels: ref.nMels, scale, norm });
    for (const [m, col] of Object.entries(ref[scale].fbColumns))
      close(
        Array.from(fb.data.subarray(Number(m) * ref.bins, (Number(m) + 1) * ref.bins)),
        col,
        1e-5,
        `${scale} filter ${m}`,
      );
    const lm = logMelSpectrogram(signal, {
      sampleRate: ref.sampleRate,
      nFft: ref.nFft,
      hop: ref.hop,
      nMels: ref.nMels,
      scale,
      norm,
    });
    assert.deepEqual(lm.shape, [ref.nMels, ref.frames]);
    close(
      Array.from(lm.data, (v) => (10 * v) / Math.LN10),
      ref[scale].logMelDb,
      1e-4,
      `${scale} log-mel (dB)`,
    );
  }
  for (const f of [0, 440, 999, 1000, 5000])
    for (const s of ['htk', 'slaney'] as const) assert.ok(Math.abs(melToHz(hzToMel(f, s), s) - f) < 1e-6);
});

test('windowed-sinc resampling keeps an in-band tone and removes an out-of-band one', () => {
  const tone = (f: number, sr: number, n: number) =>
    Float32Array.from({ length: n }, (_, i) => Math.sin((2 * Math.PI * f * i) / sr));
  const down = resample(tone(440, 16000, 4000), 16000, 8000);
  assert.equal(down.length, 2000);
  const want = tone(440, 8000, 2000);
  for (let i = 100; i < 1900; i++)
    assert.ok(Math.abs(down[i] - want[i]) < 0.02, `sample ${i}: ${down[i]} vs ${want[i]}`);
  const alias = resample(tone(5000, 16000, 4000), 16000, 8000).subarray(100, 1900);
  const rms = Math.sqrt(alias.reduce((s, v) => s + v * v, 0) / alias.length);
  assert.ok(rms < 0.02, `5 kHz above the new Nyquist is removed (rms ${rms})`);
  const up = resample(tone(440, 8000, 800), 8000, 22050);
  assert.equal(up.length, Math.ceil((800 * 22050) / 8000));
  const upWant = tone(440, 22050, up.length);
  for (let i = 200; i < up.length - 200; i++) assert.ok(Math.abs(up[i] - upWant[i]) < 0.02);
});

test('WAV: 16-bit PCM and 32-bit float, mono and stereo, round trip through wavefile', () => {
  const left = Float32Array.from({ length: 100 }, (_, i) => Math.sin(i / 5) * 0.9);
  const right = Float32Array.from({ length: 100 }, (_, i) => (i % 10) / 10 - 0.5);
  const dir = mkdtempSync(join(tmpdir(), 'lathe-wav-'));
  writeWav(join(dir, 's16.wav'), { sampleRate: 8000, channels: [left, right] }, '16');
  const a = readWav(join(dir, 's16.wav'));
  assert.equal(a.sampleRate, 8000);
  assert.equal(a.channels.length, 2);
  close(a.channels[0], Array.from(left), 1e-4, 'pcm16 left');
  close(a.channels[1], Array.from(right), 1e-4, 'pcm16 right');
  close(
    toMono(a),
    Array.from(left, (v, i) => (v + right[i]) / 2),
    1e-4,
    'mono mix',
  );
  const f = decodeWav(encodeWav({ sampleRate: 44100, channels: [left] }, '32f'));
  assert.equal(f.channels.length, 1);
  close(f.channels[0], Array.from(left), 1e-7, 'float32 mono');
  assert.throws(() => decodeWav(new Uint8Array([1, 2, 3, 4]), 'junk.wav'), /junk\.wav: not a readable WAV file/);
});
