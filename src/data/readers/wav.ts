// WAV files: decoded by wav-decode.ts (PCM 8–32 bit, float 32/64, A-law/μ-law, extensible; the rest refused by name),
// encoded through `wavefile`, as float32 in [-1, 1].
import { readFileSync, writeFileSync } from 'node:fs';
import wavefile from 'wavefile';
import { FileFormatError } from '../../util/errors.js';
import { decodeWavBytes, type Audio } from './wav-decode.js';

export type { Audio };

/** Decodes WAV bytes (`source` names the file in errors); see wav-decode.ts for the formats accepted. */
export function decodeWav(bytes: Uint8Array, source = '<wav>'): Audio {
  return decodeWavBytes(bytes, source);
}

/**
 * Reads and decodes the WAV file at `path` to float32 samples in [-1, 1]; throws an Error naming the file when it is
 * not a readable WAV.
 */
export function readWav(path: string): Audio {
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(path);
  } catch (e) {
    throw new FileFormatError(`${path}: cannot read (${(e as Error).message})`);
  }
  return decodeWav(bytes, path);
}

/** The average of the channels. */
export function toMono(a: Audio): Float32Array {
  const out = new Float32Array(a.channels[0].length);
  for (const c of a.channels) for (let i = 0; i < out.length; i++) out[i] += c[i] / a.channels.length;
  return out;
}

/** Encodes audio as WAV: 16-bit PCM (default) or 32-bit float. */
export function encodeWav(a: Audio, bitDepth: '16' | '32f' = '16'): Uint8Array {
  const wav = new wavefile.WaveFile();
  const scaled = a.channels.map((c) =>
    bitDepth === '16' ? Array.from(c, (v) => Math.round(Math.max(-1, Math.min(1, v)) * 32767)) : Array.from(c),
  );
  wav.fromScratch(a.channels.length, a.sampleRate, bitDepth, scaled);
  return wav.toBuffer();
}

/** Writes `a` to `path` as a WAV file: 16-bit PCM (default; samples clipped to [-1, 1]) or 32-bit float. */
export function writeWav(path: string, a: Audio, bitDepth: '16' | '32f' = '16'): void {
  writeFileSync(path, encodeWav(a, bitDepth));
}
