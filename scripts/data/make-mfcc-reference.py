#!/usr/bin/python3
"""Reference values for test/data/mfcc.test.ts from torchaudio 0.13 (Debian's python3-torchaudio) and torch 1.13:
torch.stft with a non-power-of-two n_fft (400, 401) and torchaudio.transforms.MFCC (defaults; and log_mels with
13 coefficients of 40 mels). Run once: /usr/bin/python3 scripts/data/make-mfcc-reference.py
"""
import json, os
import numpy as np
import torch
import torchaudio

SR, N = 16000, 4000
t = np.arange(N, dtype=np.float64) / SR
sig = 0.5 * np.sin(2 * np.pi * 440 * t) + 0.25 * np.sin(2 * np.pi * 3000 * t + 0.3) + 0.1 * np.sin(2 * np.pi * (100 * t + 2000 * t * t))
x64 = torch.tensor(sig)
x32 = torch.tensor(sig, dtype=torch.float32)
r = lambda a: [float(f'{v:.9g}') for v in np.asarray(a, dtype=np.float64).ravel()]
out = {'generator': f'scripts/data/make-mfcc-reference.py (torch {torch.__version__}, torchaudio {torchaudio.__version__})', 'n': N, 'sampleRate': SR}
for n_fft in (400, 401):
    s = torch.stft(x64, n_fft, hop_length=160, window=torch.hann_window(n_fft, dtype=torch.float64), center=True, pad_mode='reflect', return_complex=True)
    out[f'stft{n_fft}'] = {'bins': int(s.shape[0]), 'frames': int(s.shape[1]), 'frame3': {'re': r(s[:, 3].real), 'im': r(s[:, 3].imag)}}
out['mfccDefault'] = r(torchaudio.transforms.MFCC(sample_rate=SR)(x32))
out['mfccLogMels'] = r(torchaudio.transforms.MFCC(sample_rate=SR, n_mfcc=13, log_mels=True, melkwargs={'n_fft': 512, 'hop_length': 128, 'n_mels': 40})(x32))
with open(os.path.join(os.path.dirname(__file__), '..', '..', 'test', 'fixtures', 'data', 'mfcc-reference.json'), 'w') as f:
    json.dump(out, f, separators=(',', ':'))
