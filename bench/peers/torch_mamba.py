"""A tiny Mamba reference in plain PyTorch 1.13 (no mamba_ssm, no CUDA kernels): the selective scan as a sequential
Python loop over time, written from the paper's equations (Gu & Dao 2023, Algorithm 2). Two uses:

  torch_mamba.py fixture OUT.json           forward and gradients of one mixer (float64) for test/models/mamba.test.ts
  torch_mamba.py bench THREADS STEPS REPS   train step of the Mamba LM of `npm run bench -- mamba` (Adam, batch of
                                            random ids), prints {"samples_per_s", "ms_per_step", "threads"}

Parameter names follow lathe's state dict (inProj.weight, convWeight, ...), so a fixture loads with loadStateDict.
"""
import json
import math
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F


class Mixer(nn.Module):
    def __init__(self, dim, state=16, expand=2, dt_rank=None, conv_kernel=4):
        super().__init__()
        e = expand * dim
        self.e, self.n, self.k = e, state, conv_kernel
        self.r = dt_rank or math.ceil(dim / 16)
        self.inProj = nn.Linear(dim, 2 * e, bias=False)
        self.convWeight = nn.Parameter(torch.randn(e, 1, conv_kernel) * 0.3)
        self.convBias = nn.Parameter(torch.randn(e) * 0.1)
        self.xProj = nn.Linear(e, self.r + 2 * state, bias=False)
        self.dtProj = nn.Linear(self.r, e)
        with torch.no_grad():
            dt = torch.exp(torch.rand(e) * (math.log(0.1) - math.log(0.001)) + math.log(0.001))
            self.dtProj.bias.copy_(dt + torch.log(-torch.expm1(-dt)))
        self.aLog = nn.Parameter(torch.log(torch.arange(1, state + 1, dtype=torch.float32)).repeat(e, 1))
        self.dSkip = nn.Parameter(torch.ones(e))
        self.outProj = nn.Linear(e, dim, bias=False)

    def forward(self, u):
        b, t, _ = u.shape
        x, z = self.inProj(u).split(self.e, dim=-1)
        x = F.conv1d(F.pad(x.transpose(1, 2), (self.k - 1, 0)), self.convWeight, self.convBias, groups=self.e)
        x = F.silu(x.transpose(1, 2))  # [B, T, E]
        dt, bm, cm = self.xProj(x).split([self.r, self.n, self.n], dim=-1)
        delta = F.softplus(self.dtProj(dt))  # [B, T, E]
        a = -torch.exp(self.aLog)  # [E, N]
        h = x.new_zeros(b, self.e, self.n)
        ys = []
        for i in range(t):  # the sequential selective scan
            da = torch.exp(delta[:, i, :, None] * a)
            h = da * h + (delta[:, i, :, None] * bm[:, i, None, :]) * x[:, i, :, None]
            ys.append((h * cm[:, i, None, :]).sum(-1))
        y = torch.stack(ys, 1) + x * self.dSkip
        return self.outProj(y * F.silu(z))


class MambaLM(nn.Module):
    def __init__(self, vocab, dim, layers, state):
        super().__init__()
        self.wte = nn.Embedding(vocab, dim)
        self.norms = nn.ModuleList([RMSNorm(dim) for _ in range(layers)])
        self.mixers = nn.ModuleList([Mixer(dim, state) for _ in range(layers)])
        self.normF = RMSNorm(dim)

    def forward(self, ids):
        h = self.wte(ids)
        for norm, mixer in zip(self.norms, self.mixers):
            h = h + mixer(norm(h))
        return self.normF(h) @ self.wte.weight.t()


class RMSNorm(nn.Module):
    def __init__(self, d, eps=1e-5):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(d))

    def forward(self, x):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps) * self.weight


def fixture(path):
    torch.manual_seed(0)
    cfg = {'dim': 8, 'state': 4, 'expand': 2, 'dtRank': 2, 'convKernel': 4}
    m = Mixer(cfg['dim'], cfg['state'], cfg['expand'], cfg['dtRank'], cfg['convKernel']).double()
    u = torch.randn(2, 9, 8, dtype=torch.float64, requires_grad=True)
    ct = torch.randn(2, 9, 8, dtype=torch.float64)
    # round the inputs to float32 first so lathe's float32 run starts from the same numbers
    with torch.no_grad():
        for p in m.parameters():
            p.copy_(p.float().double())
        u.copy_(u.float().double())
        ct.copy_(ct.float().double())
    y = m(u)
    (y * ct).sum().backward()
    flat = lambda t: [float(v) for v in t.detach().reshape(-1)]
    out = {
        'config': cfg,
        'params': {k: {'shape': list(p.shape), 'data': flat(p)} for k, p in m.named_parameters()},
        'u': {'shape': list(u.shape), 'data': flat(u)},
        'ct': {'shape': list(ct.shape), 'data': flat(ct)},
        'y': flat(y),
        'grads': {'u': flat(u.grad), **{k: flat(p.grad) for k, p in m.named_parameters()}},
    }
    with open(path, 'w') as f:
        json.dump(out, f)


def bench(threads, steps, reps):
    sys.path.insert(0, __file__.rsplit('/', 1)[0])
    from _timing import median_step_ms

    spec = json.loads(sys.stdin.read())
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    model = MambaLM(spec['vocab'], spec['dim'], spec['layers'], spec['state'])
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    g = torch.Generator().manual_seed(777)
    x = torch.randint(0, spec['vocab'], (spec['batch'], spec['context']), generator=g)
    y = torch.randint(0, spec['vocab'], (spec['batch'], spec['context']), generator=g)

    def step():
        opt.zero_grad(set_to_none=True)
        loss = F.cross_entropy(model(x).reshape(-1, spec['vocab']), y.reshape(-1))
        loss.backward()
        opt.step()

    ms = median_step_ms(step, steps, reps, warmup=3)
    print(json.dumps({'samples_per_s': spec['batch'] / (ms / 1000), 'ms_per_step': ms, 'threads': threads}))


if __name__ == '__main__':
    if sys.argv[1] == 'fixture':
        fixture(sys.argv[2])
    else:
        bench(int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]))
