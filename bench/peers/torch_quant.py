#!/usr/bin/env python3
"""PyTorch peer for lathe's quantization benchmark (bench/quant.ts): the same trained weights quantized with PyTorch's
own eager-mode static quantization, per-channel weights, scored on the same test set and timed at its best.

usage: torch_quant.py <dir> <engine> <threads> <batch,...> [noacc]
<dir> holds what bench/quant.ts wrote from lathe's float ONNX model (BatchNorm already folded into the convs):
  spec.json    the graph as a node list (Conv [+ReLU], Gemm [+ReLU], Add [+ReLU], MaxPool, GlobalAveragePool,
               Flatten), weight offsets into weights.bin, the calibration and test sets' offsets into data.bin
  weights.bin  float32 weights;  data.bin  float32 calibration images, test images, test labels (as float32)
The module is built node by node: conv+ReLU as torch.nn.intrinsic.ConvReLU2d, linear+ReLU as LinearReLU, add+ReLU
as FloatFunctional.add_relu (what torch.ao.quantization.fuse_modules produces), QuantStub/DeQuantStub at the ends.
Quantization: prepare → calibrate on the same samples lathe calibrates on → convert, with
get_default_qconfig(<engine>) (HistogramObserver activations, PerChannelMinMaxObserver int8 weights for onednn;
Debian's torch 1.13 is built without fbgemm: torch.backends.quantized.supported_engines lists qnnpack and onednn).
Prints one JSON line: {"engine", "threads", "fp32_accuracy", "int8_accuracy", "latency": {"<batch>": {"samples_per_s",
"ms_per_batch", "layout"}}}, the faster of NCHW and channels_last input per batch.
Run with OMP_WAIT_POLICY=PASSIVE (the caller sets it).
"""
import json, os, sys
import numpy as np
import torch
import torch.nn as nn
import torch.nn.intrinsic as nni
from torch.ao.quantization import DeQuantStub, QuantStub, convert, get_default_qconfig, prepare
from _timing import median_step_ms

d, engine, threads, batches = sys.argv[1], sys.argv[2], int(sys.argv[3]), [int(b) for b in sys.argv[4].split(',')]
score = not (len(sys.argv) > 5 and sys.argv[5] == 'noacc')  # accuracies are the same for every thread count
torch.set_num_threads(threads)
torch.backends.quantized.engine = engine
spec = json.load(open(os.path.join(d, 'spec.json')))
wblob = np.fromfile(os.path.join(d, 'weights.bin'), dtype=np.float32)
dblob = np.fromfile(os.path.join(d, 'data.bin'), dtype=np.float32)


def tensor(ref):
    off, shape = ref
    n = int(np.prod(shape))
    return torch.from_numpy(wblob[off:off + n].reshape(shape).copy())


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.quant, self.dequant = QuantStub(), DeQuantStub()
        self.mods = nn.ModuleDict()
        self.plan = []
        for i, n in enumerate(spec['nodes']):
            op, key, relu = n['op'], f'm{i}', n.get('relu', False)
            if op == 'Conv':
                w = tensor(n['weight'])
                conv = nn.Conv2d(w.shape[1] * n['group'], w.shape[0], tuple(w.shape[2:]), stride=tuple(n['strides']),
                                 padding=tuple(n['pads'][:2]), groups=n['group'], bias=True)
                conv.weight.data.copy_(w)
                conv.bias.data.copy_(tensor(n['bias']) if 'bias' in n else torch.zeros(w.shape[0]))
                self.mods[key] = nni.ConvReLU2d(conv, nn.ReLU()) if relu else conv
            elif op == 'Gemm':
                w = tensor(n['weight'])
                lin = nn.Linear(w.shape[1], w.shape[0])
                lin.weight.data.copy_(w)
                lin.bias.data.copy_(tensor(n['bias']) if 'bias' in n else torch.zeros(w.shape[0]))
                self.mods[key] = nni.LinearReLU(lin, nn.ReLU()) if relu else lin
            elif op == 'Add':
                self.mods[key] = torch.nn.quantized.FloatFunctional()
            elif op == 'MaxPool':
                self.mods[key] = nn.MaxPool2d(tuple(n['kernel']), stride=tuple(n['strides']), padding=tuple(n['pads'][:2]))
            elif op == 'GlobalAveragePool':
                self.mods[key] = nn.AdaptiveAvgPool2d(1)
            elif op == 'Relu':
                self.mods[key] = nn.ReLU()
            elif op != 'Flatten':
                raise SystemExit(f'torch_quant.py: op {op} is not supported')
            self.plan.append((op, key, n['inputs'], n['output'], relu))

    def forward(self, x):
        v = {spec['input']: self.quant(x)}
        for op, key, ins, out, relu in self.plan:
            if op == 'Flatten':
                v[out] = torch.flatten(v[ins[0]], 1)
            elif op == 'Add':
                f = self.mods[key]
                v[out] = f.add_relu(v[ins[0]], v[ins[1]]) if relu else f.add(v[ins[0]], v[ins[1]])
            else:
                v[out] = self.mods[key](v[ins[0]])
        return self.dequant(v[spec['output']])


shape = spec['shape']
row = int(np.prod(shape))
calib = torch.from_numpy(dblob[spec['calibration'][0]:spec['calibration'][0] + spec['calibration'][1] * row].reshape([-1] + shape).copy())
tx = torch.from_numpy(dblob[spec['test'][0]:spec['test'][0] + spec['test'][1] * row].reshape([-1] + shape).copy())
ty = torch.from_numpy(dblob[spec['labels'][0]:spec['labels'][0] + spec['test'][1]].copy()).long()


def accuracy(m):
    correct = 0
    with torch.inference_mode():
        for s in range(0, tx.shape[0], 500):
            correct += (m(tx[s:s + 500]).argmax(1) == ty[s:s + 500]).sum().item()
    return correct / tx.shape[0]


model = Net().eval()
fp32 = accuracy(model) if score else None
model.qconfig = get_default_qconfig(engine)
prepared = prepare(model)
with torch.inference_mode():
    for s in range(0, calib.shape[0], 64):
        prepared(calib[s:s + 64])
q = convert(prepared)
int8 = accuracy(q) if score else None
latency = {}
for b in batches:
    x = tx[:b].contiguous() if b <= tx.shape[0] else tx.repeat(b // tx.shape[0] + 1, 1, 1, 1)[:b].contiguous()
    best = None
    for layout in ('nchw', 'channels_last'):
        xi = x.to(memory_format=torch.channels_last) if layout == 'channels_last' else x

        def step():
            with torch.inference_mode():
                q(xi)
        ms = median_step_ms(step, max(3, int(300 / max(1, b))), 5, warmup=5)
        if best is None or ms < best['ms_per_batch']:
            best = {'samples_per_s': b / (ms / 1000), 'ms_per_batch': ms, 'layout': layout}
    latency[str(b)] = best
print(json.dumps({'engine': engine, 'threads': threads, 'fp32_accuracy': fp32, 'int8_accuracy': int8, 'latency': latency}))
