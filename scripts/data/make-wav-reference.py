#!/usr/bin/python3
# Writes small WAV files of every layout the reader must handle (or refuse) and the values Python decodes from them
# (audioop for G.711 A-law/mu-law, numpy for PCM/float, cross-checked with scipy.io.wavfile where it reads the
# layout) to test/fixtures/data/wav/. Run once: /usr/bin/python3 scripts/data/make-wav-reference.py
import audioop, json, os, struct
import numpy as np
from scipy.io import wavfile

OUT = os.path.join(os.path.dirname(__file__), '..', '..', 'test', 'fixtures', 'data', 'wav')
os.makedirs(OUT, exist_ok=True)
rng = np.random.default_rng(0)
KSDATA = b'\x01\x00\x00\x00\x00\x00\x10\x00\x80\x00\x00\xaa\x00\x38\x9b\x71'  # KSDATAFORMAT_SUBTYPE GUID tail


def riff(fmt_body, data, data_size=None):
    fmt = b'fmt ' + struct.pack('<I', len(fmt_body)) + fmt_body
    size = len(data) if data_size is None else data_size
    body = b'WAVE' + fmt + b'LIST' + struct.pack('<I', 4) + b'INFO' + b'data' + struct.pack('<I', size) + data
    return b'RIFF' + struct.pack('<I', len(body)) + body


def fmt_chunk(tag, ch, rate, width, bits, extensible=False, sub=None):
    base = struct.pack('<HHIIHH', 0xFFFE if extensible else tag, ch, rate, rate * ch * width, ch * width, bits)
    if extensible:  # cbSize, valid bits, channel mask, sub-format GUID (format code + the KSDATAFORMAT tail)
        return base + struct.pack('<HHI', 22, bits, 3 if ch == 2 else 4) + struct.pack('<H', sub) + KSDATA[2:]
    return base if tag == 1 else base + struct.pack('<H', 0)


expected = {}
def save(name, blob, channels=None, rate=None):
    with open(os.path.join(OUT, name), 'wb') as f:
        f.write(blob)
    if channels is not None:
        expected[name] = {'sampleRate': rate, 'channels': [list(map(float, c)) for c in channels]}

# G.711: every 16th byte value, so all segments are covered
codes = bytes(range(0, 256, 16)) + bytes([0x55, 0xD5, 0x7F, 0xFF, 0x00, 0x80])
for tag, name, decode in [(6, 'alaw.wav', audioop.alaw2lin), (7, 'mulaw.wav', audioop.ulaw2lin)]:
    lin = np.frombuffer(decode(codes, 2), dtype='<i2') / 32768.0
    save(name, riff(fmt_chunk(tag, 1, 8000, 1, 8), codes), [lin], 8000)

# 12-bit PCM, left-justified in 16-bit containers (low 4 bits zero)
v12 = (rng.integers(-2048, 2048, 16) * 16).astype('<i2')
v12[0], v12[1] = 2047 * 16, -2048 * 16
save('pcm12.wav', riff(fmt_chunk(1, 1, 16000, 2, 12), v12.tobytes()), [v12 / 32768.0], 16000)

# 8-bit unsigned
v8 = rng.integers(0, 256, 16).astype('u1')
save('pcm8.wav', riff(fmt_chunk(1, 1, 11025, 1, 8), v8.tobytes()), [(v8.astype(float) - 128) / 128], 11025)

# 24-bit stereo inside WAVE_FORMAT_EXTENSIBLE (PCM sub-format)
v24 = rng.integers(-2**23, 2**23, (8, 2))
b24 = b''.join(int(x).to_bytes(3, 'little', signed=True) for x in v24.reshape(-1))
save('pcm24-extensible.wav', riff(fmt_chunk(1, 2, 48000, 3, 24, True, 1), b24), [v24[:, 0] / 2**23, v24[:, 1] / 2**23], 48000)
rate, check = wavfile.read(os.path.join(OUT, 'pcm24-extensible.wav'))
assert rate == 48000 and np.array_equal(check >> 8, v24), 'scipy reads the 24-bit file differently'

# 32-bit int and float64
v32 = rng.integers(-2**31, 2**31, 12).astype('<i4')
save('pcm32.wav', riff(fmt_chunk(1, 1, 22050, 4, 32), v32.tobytes()), [v32 / 2**31], 22050)
f64 = rng.uniform(-1, 1, 12).astype('<f8')
save('float64.wav', riff(fmt_chunk(3, 1, 44100, 8, 64), f64.tobytes()), [f64], 44100)
assert np.array_equal(wavfile.read(os.path.join(OUT, 'float64.wav'))[1], f64)

# refused: MPEG-tagged, truncated data, extensible wrapping an unsupported sub-format
save('mpeg.wav', riff(struct.pack('<HHIIHH', 0x50, 1, 16000, 2000, 1, 0) + struct.pack('<H', 0), bytes(64)))
save('truncated.wav', riff(fmt_chunk(1, 1, 8000, 2, 16), bytes(256), data_size=1600))
save('adpcm-extensible.wav', riff(fmt_chunk(1, 1, 8000, 2, 16, True, 2), bytes(32)))

with open(os.path.join(OUT, 'expected.json'), 'w') as f:
    json.dump(expected, f, indent=0)
