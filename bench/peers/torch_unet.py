#!/usr/bin/env python3
"""PyTorch peer of `npm run bench -- sample`: the same class-conditional U-Net as lathe's `ddpm` (src/models/unet.ts,
src/models/ddpm.ts) and the same DDIM sampler with classifier-free guidance (src/models/diffusion-sampler.ts).

usage: torch_unet.py <threads> <n> <steps> <reps> [base depth groups time_embed classes T]
prints one JSON line: {"threads","channels_last","samples_per_s","s_per_run","params"}
Each step is one forward of the U-Net over the doubled batch (conditional + null label) and the DDIM update in
torch ops; torch.inference_mode; best of NCHW and channels_last; median of `reps` runs after one warm-up run.
"""
import json, math, statistics, sys, time
import torch
import torch.nn as nn
import torch.nn.functional as F

threads, n, steps, reps = (int(v) for v in sys.argv[1:5])
base, depth, groups, temb_dim, classes, T = (int(v) for v in (sys.argv[5:11] if len(sys.argv) > 5 else [32, 2, 8, 128, 10, 1000]))
torch.set_num_threads(threads)
torch.manual_seed(0)

class DoubleConv(nn.Module):
    def __init__(s, cin, cout):
        super().__init__()
        s.conv1 = nn.Conv2d(cin, cout, 3, padding=1, bias=False)
        s.norm1 = nn.GroupNorm(min(groups, cout), cout)
        s.conv2 = nn.Conv2d(cout, cout, 3, padding=1, bias=False)
        s.norm2 = nn.GroupNorm(min(groups, cout), cout)
        s.time = nn.Linear(temb_dim, cout)
    def forward(s, x, temb):
        h = F.silu(s.norm1(s.conv1(x)))
        h = h + s.time(temb)[:, :, None, None]
        return F.silu(s.norm2(s.conv2(h)))

class Up(nn.Module):
    def __init__(s, cin, cout):
        super().__init__()
        s.up = nn.ConvTranspose2d(cin, cout, 2, stride=2)
        s.conv = DoubleConv(2 * cout, cout)
    def forward(s, x, skip, temb):
        return s.conv(torch.cat([skip, s.up(x)], 1), temb)

class UNet(nn.Module):
    def __init__(s):
        super().__init__()
        w = lambda i: base * 2 ** i
        s.t1 = nn.Linear(temb_dim, temb_dim)
        s.t2 = nn.Linear(temb_dim, temb_dim)
        s.cls = nn.Embedding(classes + 1, temb_dim)
        s.down = nn.ModuleList([DoubleConv(1 if i == 0 else w(i - 1), w(i)) for i in range(depth)])
        s.mid = DoubleConv(w(depth - 1), w(depth))
        s.ups = nn.ModuleList([Up(w(i + 1), w(i)) for i in reversed(range(depth))])
        s.head = nn.Conv2d(w(0), 1, 1)
        half = temb_dim // 2
        s.register_buffer('freqs', torch.exp(-math.log(10000) * torch.arange(half) / max(1, half - 1))[None])
    def forward(s, x, t, y):
        a = t[:, None] * s.freqs
        temb = s.t2(F.silu(s.t1(torch.cat([a.sin(), a.cos()], 1)))) + s.cls(y)
        skips, h = [], x
        for d in s.down:
            h = d(h, temb); skips.append(h); h = F.max_pool2d(h, 2)
        h = s.mid(h, temb)
        for u in s.ups:
            h = u(h, skips.pop(), temb)
        return s.head(h)

betas = torch.linspace(1e-4, 0.02, T, dtype=torch.float64)
abar = torch.cumprod(1 - betas, 0)
ts = [round(i * (T - 1) / (steps - 1)) for i in range(steps)][::-1] if steps > 1 else [T - 1]

def sample(model, channels_last, w=3.0):
    g = torch.Generator().manual_seed(0)
    x = torch.randn(n, 1, 28, 28, generator=g)
    y = torch.cat([torch.arange(n) % classes, torch.full((n,), classes)])
    for k, t in enumerate(ts):
        xin = torch.cat([x, x])
        if channels_last: xin = xin.contiguous(memory_format=torch.channels_last)
        out = model(xin, torch.full((2 * n,), float(t)), y)
        c, u = out[:n], out[n:]
        eps = (1 + w) * c - w * u
        a_t = float(abar[t]); a_p = float(abar[ts[k + 1]]) if k + 1 < len(ts) else 1.0
        x0 = ((x - math.sqrt(1 - a_t) * eps) / math.sqrt(a_t)).clamp(-1, 1)  # clip_sample, as lathe's default
        eps = (x - math.sqrt(a_t) * x0) / math.sqrt(1 - a_t)
        x = math.sqrt(a_p) * x0 + math.sqrt(1 - a_p) * eps
    return x.clamp(-1, 1)

model = UNet().eval()
params = sum(p.numel() for p in model.parameters())
best = None
with torch.inference_mode():
    for cl in (False, True):
        m = model.to(memory_format=torch.channels_last) if cl else model
        sample(m, cl)
        times = []
        for _ in range(reps):
            t0 = time.perf_counter(); sample(m, cl); times.append(time.perf_counter() - t0)
        s = statistics.median(times)
        if best is None or s < best['s_per_run']:
            best = {'threads': threads, 'channels_last': cl, 's_per_run': s, 'samples_per_s': n / s, 'params': params}
print(json.dumps(best))
