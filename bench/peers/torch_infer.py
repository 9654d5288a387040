#!/usr/bin/env python3
"""PyTorch peer for lathe's inference benchmark (bench/infer.ts): the same architectures written in plain torch.nn,
eval mode, one forward pass per step, at the peer's best.

usage: torch_infer.py <mlp|cnn|resnet|mobilenetv2|gpt|char-rnn> <batch> <threads> <reps>
prints one JSON line: {"workload", "batch", "threads", "layout", "mode", "samples_per_s", "ms_per_step"}, the fastest
of NCHW and channels_last (convolutional models) and of eager torch.inference_mode and TorchScript (torch.jit.trace,
frozen, torch.jit.optimize_for_inference; skipped where tracing fails). Each configuration is timed for about
`0.3 s x reps` after one warm-up run, so that batch 256 of a ResNet stays within minutes.
Run with OMP_WAIT_POLICY=PASSIVE (the caller sets it).

mlp:         lathe's `mlp` defaults: 784 -> 256 -> 256 -> 10, ReLU; input [B, 784].
char-rnn:    lathe's `char-rnn` defaults: embedding 96 -> 64, 1-layer LSTM hidden 128, linear -> 96; input ids [B, 64].

cnn:         the quickstart CNN: conv3x3 1->32 (valid), ReLU, maxpool2, conv3x3 32->64, ReLU, maxpool2, dense 1600->128,
             ReLU, dense 128->10; input [B, 1, 28, 28].
resnet:      lathe's `resnet` defaults: ResNet-18 with a 3x3 stride-1 stem (no max-pool), basic blocks [2,2,2,2], widths
             64..512, BatchNorm, global average pool, linear; input [B, 1, 28, 28].
mobilenetv2: lathe's `mobilenetv2` defaults: stem 3x3 32 (stride 1), inverted residuals (t, c, n, s) = (1,16,1,1),
             (6,24,2,2), (6,32,3,2), (6,64,2,1), (6,96,2,1), head 1x1 640, ReLU6, BatchNorm; input [B, 1, 28, 28].
gpt:         vocab 96, context 64, d_model 128, 4 heads, 2 pre-norm layers, MLP 4x (GELU), learned positions, tied
             embeddings, causal attention: logits of all 64 positions; input ids [B, 64].
"""
import json, math, sys, time
from _timing import median_step_ms
from _torch_gpt import GPT
from _torch_resnet import ResNet, conv_bn
from torch_seq import CharLSTM  # the sequence bench's model (vocab 96 -> 64 -> LSTM 128 -> 96)
import torch
import torch.nn as nn
import torch.nn.functional as F

workload, batch, threads, reps = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
torch.set_num_threads(threads)
torch.manual_seed(0)


def cnn():
    return nn.Sequential(
        nn.Conv2d(1, 32, 3), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 3), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(64 * 5 * 5, 128), nn.ReLU(), nn.Linear(128, 10))


class InvertedResidual(nn.Module):
    def __init__(self, cin, cout, stride, t):
        super().__init__()
        hidden = round(cin * t)
        layers = [conv_bn(cin, hidden, 1, act='relu6')] if t != 1 else []
        layers += [conv_bn(hidden, hidden, 3, stride, groups=hidden, act='relu6'), conv_bn(hidden, cout, 1, act='none')]
        self.body = nn.Sequential(*layers)
        self.residual = stride == 1 and cin == cout

    def forward(self, x):
        return x + self.body(x) if self.residual else self.body(x)


class MobileNetV2(nn.Module):
    def __init__(self, stages=((1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 2, 1), (6, 96, 2, 1)), classes=10):
        super().__init__()
        self.stem = conv_bn(1, 32, 3, act='relu6')
        blocks, cin = [], 32
        for t, c, n, s in stages:
            for i in range(n):
                blocks.append(InvertedResidual(cin, c, s if i == 0 else 1, t))
                cin = c
        self.blocks = nn.Sequential(*blocks)
        self.head = conv_bn(cin, 640, 1, act='relu6')
        self.drop = nn.Dropout(0.2)
        self.fc = nn.Linear(640, classes)

    def forward(self, x):
        h = torch.flatten(F.adaptive_avg_pool2d(self.head(self.blocks(self.stem(x))), 1), 1)
        return self.fc(self.drop(h))


V, T = 96, 64


def mlp():
    return nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 256), nn.ReLU(), nn.Linear(256, 10))


def build():
    if workload == 'gpt':
        return GPT(V, T), torch.randint(0, V, (batch, T)), False
    if workload == 'char-rnn':
        return CharLSTM(), torch.randint(0, V, (batch, T)), False
    if workload == 'mlp':
        return mlp(), torch.randn(batch, 784), False
    model = {'cnn': cnn, 'resnet': ResNet, 'mobilenetv2': MobileNetV2}[workload]()
    return model, torch.randn(batch, 1, 28, 28), True


def run(channels_last, mode):
    model, x, is_conv = build()
    model.eval()
    if channels_last:
        model = model.to(memory_format=torch.channels_last)
        x = x.contiguous(memory_format=torch.channels_last)
    if mode == 'torchscript':
        try:
            with torch.no_grad():
                model = torch.jit.optimize_for_inference(torch.jit.freeze(torch.jit.trace(model, x)))
        except Exception as e:  # a model that does not trace has no TorchScript figure
            print(f'torchscript: {workload} does not trace: {e}', file=sys.stderr)
            return None
    ctx = torch.no_grad if mode == 'torchscript' else torch.inference_mode

    def step():
        with ctx():
            model(x)

    # one warm-up run (TorchScript's profiling executor optimises on the first runs: two), then enough steps per
    # repetition for ~0.3 s, at least 2
    for _ in range(2 if mode == 'torchscript' else 1):
        step()
    t0 = time.perf_counter()
    step()
    per = time.perf_counter() - t0
    steps = max(2, int(0.3 / max(per, 1e-6)))
    ms = median_step_ms(step, steps, reps, warmup=0)
    return {"workload": workload, "batch": batch, "threads": threads, "layout": "channels_last" if channels_last else "nchw",
            "mode": mode, "ms_per_step": ms, "samples_per_s": batch / (ms / 1000)}


results = []
for cl in ([False, True] if workload in ('cnn', 'resnet', 'mobilenetv2') else [False]):
    for mode in ('inference_mode', 'torchscript'):
        res = run(cl, mode)
        if res is not None:
            results.append(res)
print(json.dumps(min(results, key=lambda r: r["ms_per_step"])))
