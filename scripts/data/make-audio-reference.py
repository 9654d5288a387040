#!/usr/bin/python3
"""Reference values for test/data/audio-spectral.test.ts: torch.stft (PyTorch 1.13, Debian's /usr/bin/python3) and a
numpy transcription of torchaudio's melscale_fbanks (HTK and Slaney scales, Slaney norm) and AmplitudeToDB.
Run once; the output is committed: /usr/bin/python3 scripts/data/make-audio-reference.py > test/fixtures/data/audio-reference.json
"""
import json
import math

import numpy as np
import torch

SR, N, N_FFT, HOP, N_MELS = 16000, 2048, 256, 128, 16


def signal():
    # The same formula is evaluated in the test (float64).
    t = np.arange(N, dtype=np.float64) / SR
    return 0.5 * np.sin(2 * np.pi * 440 * t) + 0.25 * np.sin(2 * np.pi * 3000 * t + 0.3) + 0.1 * np.sin(2 * np.pi * (100 * t + 2000 * t * t))


def hz_to_mel(f, scale):
    if scale == "htk":
        return 2595.0 * np.log10(1.0 + f / 700.0)
    f = np.asarray(f, dtype=np.float64)
    f_sp, min_log_hz = 200.0 / 3, 1000.0
    min_log_mel, logstep = min_log_hz / f_sp, math.log(6.4) / 27.0
    return np.where(f >= min_log_hz, min_log_mel + np.log(np.maximum(f, 1e-10) / min_log_hz) / logstep, f / f_sp)


def mel_to_hz(m, scale):
    if scale == "htk":
        return 700.0 * (10.0 ** (m / 2595.0) - 1.0)
    f_sp, min_log_hz = 200.0 / 3, 1000.0
    min_log_mel, logstep = min_log_hz / f_sp, math.log(6.4) / 27.0
    return np.where(m >= min_log_mel, min_log_hz * np.exp(logstep * (m - min_log_mel)), f_sp * m)


def fbanks(n_freqs, scale, norm):
    # torchaudio.functional.melscale_fbanks(n_freqs, 0, SR/2, N_MELS, SR, norm, mel_scale)
    all_freqs = np.linspace(0, SR // 2, n_freqs)
    m_pts = np.linspace(hz_to_mel(0.0, scale), hz_to_mel(SR / 2, scale), N_MELS + 2)
    f_pts = mel_to_hz(m_pts, scale)
    f_diff = f_pts[1:] - f_pts[:-1]
    slopes = f_pts[None, :] - all_freqs[:, None]
    down = -slopes[:, :-2] / f_diff[:-1]
    up = slopes[:, 2:] / f_diff[1:]
    fb = np.maximum(0.0, np.minimum(down, up))
    if norm == "slaney":
        fb *= (2.0 / (f_pts[2 : N_MELS + 2] - f_pts[:N_MELS]))[None, :]
    return fb


def r(a):
    return [float(f"{v:.9g}") for v in np.asarray(a, dtype=np.float64).ravel()]


x = torch.tensor(signal(), dtype=torch.float64)
spec = torch.stft(x, N_FFT, hop_length=HOP, window=torch.hann_window(N_FFT, dtype=torch.float64), center=True, pad_mode="reflect", return_complex=True)
power = (spec.abs() ** 2).numpy()  # [bins, frames]
out = {
    "generator": "scripts/data/make-audio-reference.py (torch %s, numpy %s)" % (torch.__version__, np.__version__),
    "sampleRate": SR, "n": N, "nFft": N_FFT, "hop": HOP, "nMels": N_MELS,
    "bins": int(spec.shape[0]), "frames": int(spec.shape[1]),
    "stftFrames": {str(t): {"re": r(spec[:, t].real.numpy()), "im": r(spec[:, t].imag.numpy())} for t in (0, 8, int(spec.shape[1]) - 1)},
    "powerFrameSums": r(power.sum(axis=0)),
}
for scale, norm in (("htk", None), ("slaney", "slaney")):
    fb = fbanks(power.shape[0], scale, norm)
    mel = fb.T @ power
    out[scale] = {"norm": norm, "fbColumns": {str(m): r(fb[:, m]) for m in (0, 7, 15)}, "logMelDb": r(10 * np.log10(np.maximum(mel, 1e-10)))}
print(json.dumps(out))
