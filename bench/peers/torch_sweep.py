#!/usr/bin/env python3
"""PyTorch peer for lathe's size sweep (bench/sweep.ts): one training workload at one size, one configuration, in its
own process so that its peak RSS is its own.

usage: torch_sweep.py <mlp|cnn|resnet|gpt|lstm> <batch> <width> <seq> <threads> <nchw|channels_last> <target_ms> <reps>
prints one JSON line: {"samples_per_s", "ms_per_step", "steps", "peak_rss_mb"}
Run with OMP_WAIT_POLICY=PASSIVE (the caller sets it). The caller tries 1 and 2 threads, and NCHW and channels_last
for the convolutional models, each in a fresh process, and keeps the fastest.

The models are bench/_sweep-point.ts's, with `width` scaling every hidden size:
mlp:    784 -> 256w -> 256w -> 10, ReLU.
cnn:    conv3x3 1->32w, ReLU, maxpool2, conv3x3 32w->64w, ReLU, maxpool2, dense 64w*25->128w, ReLU, dense 10.
resnet: lathe's `resnet` with one basic block per stage, widths (16, 32, 64, 128)*w, 28x28 grey input.
gpt:    vocab 96, context seq, d_model 128w, 4 heads, 2 pre-norm layers, MLP 4x, learned positions, tied embeddings.
lstm:   embedding 96 -> 64w, 1-layer LSTM hidden 128w (nn.LSTM), linear -> 96; sequence seq.
All: Adam, cross-entropy (over all positions for gpt/lstm), a fixed random batch.
"""
import json, sys, time
from _timing import median_step_ms
from _torch_gpt import GPT
from _torch_resnet import ResNet
import torch
import torch.nn as nn
import torch.nn.functional as F

workload = sys.argv[1]
batch, width, seq, threads = int(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
layout, target_ms, reps = sys.argv[6], float(sys.argv[7]), int(sys.argv[8])
torch.set_num_threads(threads)
torch.manual_seed(0)
V = 96


def scaled(base):
    return max(1, round(base * width))


class CharLSTM(nn.Module):
    def __init__(self):
        super().__init__()
        self.emb = nn.Embedding(V, scaled(64))
        self.lstm = nn.LSTM(scaled(64), scaled(128), batch_first=True)
        self.head = nn.Linear(scaled(128), V)

    def forward(self, ids):
        h, _ = self.lstm(self.emb(ids))
        return self.head(h)


def build():
    if workload == 'mlp':
        h = scaled(256)
        return nn.Sequential(nn.Linear(784, h), nn.ReLU(), nn.Linear(h, h), nn.ReLU(), nn.Linear(h, 10)), torch.randn(batch, 784)
    if workload == 'cnn':
        c1, c2, d = scaled(32), scaled(64), scaled(128)
        model = nn.Sequential(
            nn.Conv2d(1, c1, 3), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(c1, c2, 3), nn.ReLU(), nn.MaxPool2d(2),
            nn.Flatten(), nn.Linear(c2 * 25, d), nn.ReLU(), nn.Linear(d, 10))
        return model, torch.randn(batch, 1, 28, 28)
    if workload == 'resnet':
        return ResNet(layers=(1, 1, 1, 1), widths=tuple(scaled(c) for c in (16, 32, 64, 128))), torch.randn(batch, 1, 28, 28)
    if workload == 'gpt':
        return GPT(V, seq, d=scaled(128)), torch.randint(0, V, (batch, seq))
    return CharLSTM(), torch.randint(0, V, (batch, seq))


model, x = build()
if layout == 'channels_last':
    model = model.to(memory_format=torch.channels_last)
    x = x.contiguous(memory_format=torch.channels_last)
lm = workload in ('gpt', 'lstm')
y = torch.randint(0, V, (batch, seq)) if lm else torch.randint(0, 10, (batch,))
opt = torch.optim.Adam(model.parameters(), lr=1e-3)


def step():
    opt.zero_grad(set_to_none=True)
    out = model(x)
    loss = F.cross_entropy(out.reshape(-1, V), y.reshape(-1)) if lm else F.cross_entropy(out, y)
    loss.backward()
    opt.step()


t0 = time.perf_counter()
for _ in range(3):
    step()
per = (time.perf_counter() - t0) / 3 * 1000
steps = max(2, round(target_ms / max(per, 1e-3)))
ms = median_step_ms(step, steps, reps, warmup=0)
hwm = next(int(l.split()[1]) for l in open('/proc/self/status') if l.startswith('VmHWM:'))
print(json.dumps({"samples_per_s": batch / (ms / 1000), "ms_per_step": ms, "steps": steps, "peak_rss_mb": hwm / 1024}))
