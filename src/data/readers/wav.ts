// WAV files through `wavefile`: PCM 8/16/24/32-bit and IEEE float, mono or multi-channel, as float32 in [-1, 1].
import { readFileSync, writeFileSync } from 'node:fs';
import wavefile from 'wavefile';

/** Decoded audio: the sample rate in Hz and one float32 array per channel with values in [-1, 1]. */
export interface Audio {
  readonly sampleRate: number;
  /** One Float32Array per channel, values in [-1, 1]. */
  readonly channels: readonly Float32Array[];
}

/** Decodes WAV bytes (`source` names the file in errors). */
export function decodeWav(bytes: Uint8Array, source = '<wav>'): Audio {
  let wav: InstanceType<typeof wavefile.WaveFile>;
  try {
    wav = new wavefile.WaveFile(bytes);
  } catch (e) {
    throw new Error(`${source}: not a readable WAV file (${(e as Error).message})`);
  }
  const { numChannels, sampleRate } = wav.fmt as { numChannels: number; sampleRate: number }; // read before conversion
  if (wav.bitDepth !== '32f') wav.toBitDepth('32f');
  const s = wav.getSamples(false, Float32Array) as unknown as Float32Array | Float32Array[];
  const channels = numChannels === 1 ? [s as Float32Array] : Array.from(s as Float32Array[], (c) => Float32Array.from(c));
  return { sampleRate, channels };
}

/**
 * Reads and decodes the WAV file at `path` to float32 samples in [-1, 1]; throws an Error naming the file when it is
 * not a readable WAV.
 */
export function readWav(path: string): Audio {
  return decodeWav(readFileSync(path), path);
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
  const scaled = a.channels.map((c) => (bitDepth === '16' ? Array.from(c, (v) => Math.round(Math.max(-1, Math.min(1, v)) * 32767)) : Array.from(c)));
  wav.fromScratch(a.channels.length, a.sampleRate, bitDepth, scaled);
  return wav.toBuffer();
}

/** Writes `a` to `path` as a WAV file: 16-bit PCM (default; samples clipped to [-1, 1]) or 32-bit float. */
export function writeWav(path: string, a: Audio, bitDepth: '16' | '32f' = '16'): void {
  writeFileSync(path, encodeWav(a, bitDepth));
}
