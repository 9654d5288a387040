"""The ResNet the PyTorch peers share (bench/peers/torch_infer.py runs it, torch_sweep.py trains it): lathe's `resnet`
with the small stem (3x3 stride 1, no max-pool), basic blocks, BatchNorm, global average pool, linear."""
import torch
import torch.nn as nn
import torch.nn.functional as F


def conv_bn(cin, cout, k, stride=1, groups=1, act='relu'):
    layers = [nn.Conv2d(cin, cout, k, stride, (k - 1) // 2, groups=groups, bias=False), nn.BatchNorm2d(cout)]
    if act == 'relu':
        layers.append(nn.ReLU())
    elif act == 'relu6':
        layers.append(nn.ReLU6())
    return nn.Sequential(*layers)


class BasicBlock(nn.Module):
    def __init__(self, cin, width, stride):
        super().__init__()
        self.a = conv_bn(cin, width, 3, stride)
        self.b = conv_bn(width, width, 3, act='none')
        self.down = conv_bn(cin, width, 1, stride, act='none') if stride != 1 or cin != width else None

    def forward(self, x):
        return F.relu(self.b(self.a(x)) + (self.down(x) if self.down is not None else x))


class ResNet(nn.Module):
    def __init__(self, layers=(2, 2, 2, 2), widths=(64, 128, 256, 512), classes=10):
        super().__init__()
        self.stem = conv_bn(1, widths[0], 3)
        blocks, cin = [], widths[0]
        for s, (n, w) in enumerate(zip(layers, widths)):
            for i in range(n):
                blocks.append(BasicBlock(cin, w, (2 if s > 0 else 1) if i == 0 else 1))
                cin = w
        self.blocks = nn.Sequential(*blocks)
        self.fc = nn.Linear(cin, classes)

    def forward(self, x):
        return self.fc(torch.flatten(F.adaptive_avg_pool2d(self.blocks(self.stem(x)), 1), 1))
