#!/usr/bin/env python3
"""PyTorch peer for lathe's training benchmarks: same workload, same batch, best thread setting.

usage: torch_train.py <workload> <threads> <steps> <reps>
prints one JSON line: {"workload", "threads", "samples_per_s", "ms_per_step"}
Run with OMP_WAIT_POLICY=PASSIVE (the caller sets it): with 2 threads and default OpenMP
spinning PyTorch runs 10-15x slower on this machine.
"""
import json, sys
from _timing import median_step_ms
import torch
import torch.nn as nn

def mlp():
    model = nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 256), nn.ReLU(), nn.Linear(256, 10))
    x = torch.randn(128, 784); y = torch.randint(0, 10, (128,))
    return model, x, y, 128, False

def cnn():
    model = nn.Sequential(
        nn.Conv2d(1, 32, 3), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 3), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(64 * 5 * 5, 128), nn.ReLU(), nn.Linear(128, 10))
    x = torch.randn(64, 1, 28, 28); y = torch.randint(0, 10, (64,))
    return model, x, y, 64, True

def run(channels_last):
    model, x, y, batch, is_conv = {'mlp': mlp, 'cnn': cnn}[workload]()
    if channels_last and is_conv:
        model = model.to(memory_format=torch.channels_last)
        x = x.contiguous(memory_format=torch.channels_last)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = nn.CrossEntropyLoss()
    def step():
        opt.zero_grad(set_to_none=True)
        loss = loss_fn(model(x), y)
        loss.backward()
        opt.step()
    ms = median_step_ms(step, steps, reps)
    return {"workload": workload, "threads": threads, "channels_last": channels_last, "ms_per_step": ms, "samples_per_s": batch / (ms / 1000)}

# The model builders above are imported by torch_ddp.py; only a run as a script times them.
if __name__ == '__main__':
    workload, threads, steps, reps = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    results = [run(False)]
    if workload == 'cnn':
        results.append(run(True))
    print(json.dumps(min(results, key=lambda r: r["ms_per_step"])))
