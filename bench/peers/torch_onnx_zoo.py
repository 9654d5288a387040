#!/usr/bin/env python3
"""PyTorch 1.13 export zoo for lathe's ONNX import tests (test/onnx/zoo.test.ts).

usage: torch_onnx_zoo.py [outdir]   (default test/fixtures/onnx-zoo)
Exports small-width standard architectures with `torch.onnx.export` (opset 17, a dynamic batch axis, eval mode) and
writes, per model, <name>.onnx and <name>.json: {"input": {"shape", "data"}, "output": {"shape", "data"}}, the
output being PyTorch's own forward on that input. Widths are kept small so each file stays well under 300 KB.
Models: resnet (torchvision BasicBlocks), mobilenetv2 (torchvision, width 0.25, shortened stages), transformer
(nn.TransformerEncoder of nn.TransformerEncoderLayer, batch-first), lstm and gru (two layers, a linear head on the
last step), unet (conv encoder, max-pool, ConvTranspose and nearest Upsample decoder with skip connections).
"""
import json, os, sys
import torch
import torch.nn as nn
import torch.nn.functional as F
from torchvision.models import mobilenet_v2
from torchvision.models.resnet import BasicBlock

out_dir = sys.argv[1] if len(sys.argv) > 1 else 'test/fixtures/onnx-zoo'
os.makedirs(out_dir, exist_ok=True)


class SmallResNet(nn.Module):
    """ResNet with torchvision's BasicBlock, widths 8-16-32, one block per stage."""

    def __init__(s, classes=10):
        super().__init__()
        s.stem = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1, bias=False), nn.BatchNorm2d(8), nn.ReLU(inplace=True))
        s.layer1 = BasicBlock(8, 8)
        s.layer2 = BasicBlock(8, 16, stride=2, downsample=nn.Sequential(nn.Conv2d(8, 16, 1, 2, bias=False), nn.BatchNorm2d(16)))
        s.layer3 = BasicBlock(16, 32, stride=2, downsample=nn.Sequential(nn.Conv2d(16, 32, 1, 2, bias=False), nn.BatchNorm2d(32)))
        s.pool = nn.AdaptiveAvgPool2d(1)
        s.fc = nn.Linear(32, classes)

    def forward(s, x):
        x = s.layer3(s.layer2(s.layer1(s.stem(x))))
        return s.fc(torch.flatten(s.pool(x), 1))


class Transformer(nn.Module):
    def __init__(s, d=16, classes=4):
        super().__init__()
        layer = nn.TransformerEncoderLayer(d_model=d, nhead=2, dim_feedforward=32, dropout=0.1, batch_first=True)
        s.encoder = nn.TransformerEncoder(layer, num_layers=2, enable_nested_tensor=False)
        s.head = nn.Linear(d, classes)

    def forward(s, x):
        return s.head(s.encoder(x).mean(1))


class Recurrent(nn.Module):
    def __init__(s, cell, features=6, hidden=12, classes=3):
        super().__init__()
        s.rnn = cell(features, hidden, num_layers=2, batch_first=True)
        s.head = nn.Linear(hidden, classes)

    def forward(s, x):
        y, _ = s.rnn(x)
        return s.head(y[:, -1])


def block(cin, cout):
    return nn.Sequential(nn.Conv2d(cin, cout, 3, padding=1), nn.BatchNorm2d(cout), nn.ReLU(inplace=True))


class UNet(nn.Module):
    """Two-level U-Net: ConvTranspose upsampling at one level, nearest Upsample + conv at the other."""

    def __init__(s, cin=1, base=8, classes=2):
        super().__init__()
        s.enc1, s.enc2, s.mid = block(cin, base), block(base, 2 * base), block(2 * base, 4 * base)
        s.up2 = nn.ConvTranspose2d(4 * base, 2 * base, 2, stride=2)
        s.dec2 = block(4 * base, 2 * base)
        s.up1 = nn.Sequential(nn.Upsample(scale_factor=2, mode='nearest'), nn.Conv2d(2 * base, base, 1))
        s.dec1 = block(2 * base, base)
        s.out = nn.Conv2d(base, classes, 1)

    def forward(s, x):
        e1 = s.enc1(x)
        e2 = s.enc2(F.max_pool2d(e1, 2))
        m = s.mid(F.max_pool2d(e2, 2))
        d2 = s.dec2(torch.cat([e2, s.up2(m)], 1))
        d1 = s.dec1(torch.cat([e1, s.up1(d2)], 1))
        return s.out(d1)


def mobilenet():
    settings = [[1, 16, 1, 1], [6, 24, 1, 2], [6, 32, 2, 2], [6, 64, 1, 2], [6, 96, 1, 1]]
    m = mobilenet_v2(width_mult=0.25, num_classes=10, inverted_residual_setting=settings)
    m.last_channel = 64
    m.features[-1] = nn.Sequential(nn.Conv2d(24, 64, 1, bias=False), nn.BatchNorm2d(64), nn.ReLU6(inplace=True))
    m.classifier = nn.Sequential(nn.Dropout(0.2), nn.Linear(64, 10))
    return m


def settle_batchnorm(model, x):
    """A few training-mode forwards so BatchNorm's running statistics are not the identity 0/1."""
    model.train()
    with torch.no_grad():
        for k in range(3):
            model(x + 0.1 * k)
    model.eval()


ZOO = {
    'resnet': (SmallResNet, [2, 3, 16, 16]),
    'mobilenetv2': (mobilenet, [2, 3, 32, 32]),
    'transformer': (Transformer, [2, 5, 16]),
    'lstm': (lambda: Recurrent(nn.LSTM), [2, 7, 6]),
    'gru': (lambda: Recurrent(nn.GRU), [2, 7, 6]),
    'unet': (UNet, [2, 1, 16, 16]),
}

for name, (make, shape) in ZOO.items():
    torch.manual_seed(0)
    model = make()
    x = torch.randn(*shape)
    settle_batchnorm(model, x)
    with torch.no_grad():
        y = model(x)
    path = os.path.join(out_dir, f'{name}.onnx')
    torch.onnx.export(model, (x,), path, input_names=['input'], output_names=['output'], opset_version=17,
                      dynamic_axes={'input': {0: 'batch'}, 'output': {0: 'batch'}}, do_constant_folding=True)
    with open(os.path.join(out_dir, f'{name}.json'), 'w') as f:
        json.dump({
            'input': {'shape': list(x.shape), 'data': [round(v, 7) for v in x.flatten().tolist()]},
            'output': {'shape': list(y.shape), 'data': [round(v, 7) for v in y.flatten().tolist()]},
        }, f)
    print(name, os.path.getsize(path), 'bytes', sum(p.numel() for p in model.parameters()), 'params')
