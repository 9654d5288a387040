// A RIFF/WAVE decoder: PCM 8/16/24/32-bit (and narrower depths in those containers, e.g. 12-bit in 16), IEEE float
// 32/64, G.711 A-law and μ-law (expanded to 16-bit), and WAVE_FORMAT_EXTENSIBLE wrapping any of these. Everything
// else (MPEG, ADPCM, ...) is refused by name, and a data chunk shorter than its header says is an error, never a
// silently shorter signal. Every error names the file. Samples come out as float32 in [-1, 1].
import { FileFormatError } from '../../util/errors.js';

/** Decoded audio: the sample rate in Hz and one array of samples per channel. */
export interface Audio {
  readonly sampleRate: number;
  /** One Float32Array per channel, values in [-1, 1]. */
  readonly channels: readonly Float32Array[];
}

const PCM = 1;
const FLOAT = 3;
const ALAW = 6;
const MULAW = 7;
const EXTENSIBLE = 0xfffe;
const FORMAT_NAMES: Record<number, string> = {
  2: 'Microsoft ADPCM',
  0x11: 'IMA ADPCM',
  0x31: 'GSM 6.10',
  0x40: 'G.721 ADPCM',
  0x50: 'MPEG',
  0x55: 'MPEG Layer 3',
  0x160: 'WMA',
  0x161: 'WMA',
  0xff: 'AAC',
  0x1610: 'AAC',
  0x2000: 'AC-3',
  0xf1ac: 'FLAC',
};

/** G.711 μ-law byte → 16-bit linear (ITU-T G.711, as audioop.ulaw2lin). */
export function mulawToLinear(u: number): number {
  const v = ~u & 0xff;
  const t = (((v & 0x0f) << 3) + 0x84) << ((v & 0x70) >> 4);
  return v & 0x80 ? 0x84 - t : t - 0x84;
}

/** G.711 A-law byte → 16-bit linear (ITU-T G.711, as audioop.alaw2lin). */
export function alawToLinear(a: number): number {
  const v = a ^ 0x55;
  const seg = (v & 0x70) >> 4;
  let t = (v & 0x0f) << 4;
  if (seg === 0) t += 8;
  else t = (t + 0x108) << (seg - 1);
  return v & 0x80 ? t : -t;
}

/** Decodes WAV bytes; `source` (the file) is named in every error. */
export function decodeWavBytes(bytes: Uint8Array, source = '<wav>'): Audio {
  const fail = (why: string): never => {
    throw new FileFormatError(`${source}: ${why}`);
  };
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const tag = (at: number): string => String.fromCharCode(bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]);
  if (bytes.length < 12 || tag(0) !== 'RIFF' || tag(8) !== 'WAVE')
    fail('not a readable WAV file (no RIFF/WAVE header)');
  let fmt: { format: number; channels: number; rate: number; blockAlign: number; bits: number } | undefined;
  let data: { at: number; size: number } | undefined;
  for (let at = 12; at + 8 <= bytes.length; ) {
    const id = tag(at);
    const size = view.getUint32(at + 4, true);
    const body = at + 8;
    if (id === 'fmt ') {
      if (size < 16 || body + size > bytes.length) fail(`fmt chunk of ${size} bytes is truncated or too short`);
      let format = view.getUint16(body, true);
      const bits = view.getUint16(body + 14, true);
      if (format === EXTENSIBLE) {
        if (size < 40) fail(`WAVE_FORMAT_EXTENSIBLE fmt chunk has ${size} bytes, expected 40`);
        format = view.getUint16(body + 24, true); // the sub-format GUID's first two bytes are the format code
      }
      fmt = {
        format,
        channels: view.getUint16(body + 2, true),
        rate: view.getUint32(body + 4, true),
        blockAlign: view.getUint16(body + 12, true),
        bits,
      };
    } else if (id === 'data') {
      data = { at: body, size };
      break; // anything after the samples is metadata
    }
    at = body + size + (size & 1); // chunks are padded to even sizes
  }
  if (!fmt) return fail('no fmt chunk');
  if (!data) return fail('no data chunk');
  const { format, channels, rate, blockAlign, bits } = fmt;
  if (format !== PCM && format !== FLOAT && format !== ALAW && format !== MULAW) {
    const name = FORMAT_NAMES[format] ?? 'unknown';
    fail(
      `WAV format 0x${format.toString(16).padStart(4, '0')} (${name}) is not supported; convert it to PCM or float (e.g. ffmpeg -i in -c:a pcm_s16le out.wav)`,
    );
  }
  if (channels < 1) fail(`${channels} channels`);
  if (!(rate >= 1)) fail(`sample rate ${rate} Hz`);
  const width = blockAlign / channels; // bytes per sample container
  const ok =
    format === PCM
      ? [1, 2, 3, 4].includes(width) && bits >= 1 && bits <= 8 * width
      : format === FLOAT
        ? (width === 4 && bits === 32) || (width === 8 && bits === 64)
        : width === 1 && bits === 8;
  if (!Number.isInteger(width) || !ok)
    fail(
      `unsupported sample layout: format ${format}, ${bits} bits in ${blockAlign}-byte frames of ${channels} channels`,
    );
  const available = bytes.length - data.at;
  if (data.size > available) fail(`data chunk is truncated: header says ${data.size} bytes, file has ${available}`);
  if (data.size % blockAlign !== 0)
    fail(`data chunk of ${data.size} bytes is not a whole number of ${blockAlign}-byte frames`);
  const frames = data.size / blockAlign;
  const out = Array.from({ length: channels }, () => new Float32Array(frames));
  const read = sampleReader(view, format, width);
  for (let f = 0; f < frames; f++)
    for (let c = 0; c < channels; c++) out[c][f] = read(data.at + f * blockAlign + c * width);
  return { sampleRate: rate, channels: out };
}

/** The function reading one sample at a byte offset as a float in [-1, 1]. */
function sampleReader(view: DataView, format: number, width: number): (at: number) => number {
  if (format === ALAW) return (at) => alawToLinear(view.getUint8(at)) / 32768;
  if (format === MULAW) return (at) => mulawToLinear(view.getUint8(at)) / 32768;
  if (format === FLOAT) return width === 4 ? (at) => view.getFloat32(at, true) : (at) => view.getFloat64(at, true);
  // PCM: 8-bit is unsigned; wider is signed little-endian; narrower depths are left-justified in their container,
  // so dividing by the container's full scale gives [-1, 1] (what libsndfile and scipy do)
  switch (width) {
    case 1:
      return (at) => (view.getUint8(at) - 128) / 128;
    case 2:
      return (at) => view.getInt16(at, true) / 32768;
    case 3:
      return (at) => (view.getUint8(at) | (view.getUint8(at + 1) << 8) | (view.getInt8(at + 2) << 16)) / 8388608;
    default:
      return (at) => view.getInt32(at, true) / 2147483648;
  }
}
