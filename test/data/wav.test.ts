// The WAV reader against files written by scripts/data/make-wav-reference.py, with the values audioop (G.711),
// numpy and scipy decode from them: every accepted layout in [-1, 1], every refused one by name, every error naming
// the file.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { readWav, decodeWav } from '../../src/data/readers/wav.js';
import { alawToLinear, mulawToLinear } from '../../src/data/readers/wav-decode.js';

const dir = join(process.cwd(), 'test/fixtures/data/wav');
const expected = JSON.parse(readFileSync(join(dir, 'expected.json'), 'utf8')) as Record<
  string,
  { sampleRate: number; channels: number[][] }
>;

test("every accepted layout decodes to Python's values (A-law, μ-law, PCM 8/12/24-extensible/32, float64)", () => {
  assert.deepEqual(Object.keys(expected).sort(), [
    'alaw.wav',
    'float64.wav',
    'mulaw.wav',
    'pcm12.wav',
    'pcm24-extensible.wav',
    'pcm32.wav',
    'pcm8.wav',
  ]);
  for (const [name, want] of Object.entries(expected)) {
    const a = readWav(join(dir, name));
    assert.equal(a.sampleRate, want.sampleRate, name);
    assert.equal(a.channels.length, want.channels.length, name);
    a.channels.forEach((c, k) => {
      assert.equal(c.length, want.channels[k].length, `${name} channel ${k}`);
      c.forEach((v, i) =>
        assert.ok(
          Math.abs(v - want.channels[k][i]) <= 1e-7 * Math.max(1, Math.abs(want.channels[k][i])),
          `${name}[${k}][${i}]: ${v} vs ${want.channels[k][i]}`,
        ),
      );
      for (const v of c) assert.ok(v >= -1 && v <= 1, `${name}: ${v} outside [-1, 1]`);
    });
  }
});

test('G.711 tables: the extremes and silence', () => {
  assert.equal(mulawToLinear(0x00), -32124);
  assert.equal(mulawToLinear(0x80), 32124);
  assert.equal(mulawToLinear(0xff), 0);
  assert.equal(alawToLinear(0xd5), 8);
  assert.equal(alawToLinear(0x55), -8);
  assert.equal(alawToLinear(0xaa), 32256);
});

test('refused layouts and broken files are errors naming the file and the reason', () => {
  assert.throws(() => readWav(join(dir, 'mpeg.wav')), /mpeg\.wav: WAV format 0x0050 \(MPEG\) is not supported/);
  assert.throws(
    () => readWav(join(dir, 'adpcm-extensible.wav')),
    /adpcm-extensible\.wav: WAV format 0x0002 \(Microsoft ADPCM\)/,
  );
  assert.throws(
    () => readWav(join(dir, 'truncated.wav')),
    /truncated\.wav: data chunk is truncated: header says 1600 bytes, file has 256/,
  );
  assert.throws(() => readWav(join(dir, 'missing.wav')), /missing\.wav: cannot read/);
  const pcm = readFileSync(join(dir, 'pcm8.wav'));
  const zeroRate = Uint8Array.from(pcm);
  new DataView(zeroRate.buffer).setUint32(24, 0, true);
  assert.throws(() => decodeWav(zeroRate, 'rate0.wav'), /rate0\.wav: sample rate 0 Hz/);
  const badDepth = Uint8Array.from(pcm);
  new DataView(badDepth.buffer).setUint16(34, 13, true); // 13 bits in a 1-byte container
  assert.throws(() => decodeWav(badDepth, 'depth.wav'), /depth\.wav: unsupported sample layout/);
  const noChannels = Uint8Array.from(pcm);
  new DataView(noChannels.buffer).setUint16(22, 0, true);
  assert.throws(() => decodeWav(noChannels, 'ch0.wav'), /ch0\.wav: 0 channels/);
  assert.throws(() => decodeWav(pcm.subarray(0, 30), 'short.wav'), /short\.wav: fmt chunk of 16 bytes is truncated/);
});
