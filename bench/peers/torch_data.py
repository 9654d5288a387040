#!/usr/bin/env python3
"""PyTorch peer for lathe's data benchmark (bench/data.ts): torchvision's ImageFolder + transforms (PIL) behind
torch.utils.data.DataLoader, batch 64, shuffled, at its best worker count.

usage: torch_data.py <png28|png96|jpeg96> <root> <workers,...> <epochs>
prints one JSON line: {"workload", "samples_per_s", "workers", "per_workers": {w: samples/s}}: for each worker count
(persistent workers) one warm-up epoch, then the best of `epochs` timed epochs.

png28:  Image.open(p).convert('L'), RandomCrop(28, padding=2), RandomHorizontalFlip, ToTensor, Normalize(0.286, 0.353)
png96, jpeg96: Image.open(p).convert('RGB'), Resize((64, 64)) (bilinear, antialiased), RandomHorizontalFlip,
        ColorJitter(0.4, 0.4, 0.4), ToTensor, Normalize(ImageNet mean, std)
"""
import json, sys, time
import torch
from PIL import Image
from torch.utils.data import DataLoader
from torchvision import datasets, transforms as T

workload, root, worker_list, epochs = sys.argv[1], sys.argv[2], [int(w) for w in sys.argv[3].split(',')], int(sys.argv[4])
torch.manual_seed(0)

if workload == 'png28':
    loader = lambda p: Image.open(p).convert('L')
    tf = T.Compose([T.RandomCrop(28, padding=2), T.RandomHorizontalFlip(), T.ToTensor(), T.Normalize(0.286, 0.353)])
else:
    loader = lambda p: Image.open(p).convert('RGB')
    tf = T.Compose([T.Resize((64, 64)), T.RandomHorizontalFlip(), T.ColorJitter(0.4, 0.4, 0.4), T.ToTensor(),
                    T.Normalize([0.485, 0.456, 0.406], [0.229, 0.224, 0.225])])
ds = datasets.ImageFolder(root, transform=tf, loader=loader)

per = {}
for w in worker_list:
    dl = DataLoader(ds, batch_size=64, shuffle=True, num_workers=w, persistent_workers=w > 0)
    best = 0.0
    for e in range(epochs + 1):
        t0 = time.perf_counter()
        n = 0
        for x, y in dl:
            n += x.shape[0]
        rate = n / (time.perf_counter() - t0)
        if e > 0:
            best = max(best, rate)
    per[w] = round(best, 1)
    del dl
w = max(per, key=per.get)
print(json.dumps({'workload': workload, 'samples_per_s': per[w], 'workers': w, 'per_workers': per}))
