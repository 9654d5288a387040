#!/usr/bin/env python3
"""PyTorch peer for lathe's sequence-model benchmarks (bench/gpt.ts, bench/lstm.ts): same workload, same batch.

usage: torch_seq.py <gpt|lstm> <threads> <steps> <reps>
prints one JSON line: {"workload", "threads", "samples_per_s", "ms_per_step"}
Run with OMP_WAIT_POLICY=PASSIVE (the caller sets it).

gpt:  vocab 96, context 64, d_model 128, 4 heads, 2 pre-norm layers, MLP 4x (GELU), learned positions, tied
      embeddings, causal attention; batch 32; Adam; next-token cross-entropy over all positions.
lstm: embedding 96 -> 64, 1-layer LSTM hidden 128, linear 128 -> 96; sequence 64, batch 32; Adam (nn.LSTM, the
      fused oneDNN/native kernel).
"""
import json, math, sys
from _timing import median_step_ms
import torch
import torch.nn as nn
import torch.nn.functional as F

workload, threads, steps, reps = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
torch.set_num_threads(threads)
torch.manual_seed(0)
V, T, B = 96, 64, 32


class Block(nn.Module):
    def __init__(self, d, h):
        super().__init__()
        self.h = h
        self.ln1 = nn.LayerNorm(d)
        self.qkv = nn.Linear(d, 3 * d)
        self.out = nn.Linear(d, d)
        self.ln2 = nn.LayerNorm(d)
        self.fc = nn.Linear(d, 4 * d)
        self.proj = nn.Linear(4 * d, d)
        self.register_buffer('mask', torch.full((T, T), float('-inf')).triu(1))

    def forward(self, x):
        b, t, d = x.shape
        hd = d // self.h
        q, k, v = self.qkv(self.ln1(x)).split(d, dim=2)
        q = q.view(b, t, self.h, hd).transpose(1, 2)
        k = k.view(b, t, self.h, hd).transpose(1, 2)
        v = v.view(b, t, self.h, hd).transpose(1, 2)
        att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(hd)) + self.mask[:t, :t]
        y = (att.softmax(-1) @ v).transpose(1, 2).reshape(b, t, d)
        x = x + self.out(y)
        return x + self.proj(F.gelu(self.fc(self.ln2(x))))


class GPT(nn.Module):
    def __init__(self, d=128, h=4, layers=2):
        super().__init__()
        self.wte = nn.Embedding(V, d)
        self.wpe = nn.Parameter(torch.randn(T, d) * 0.01)
        self.blocks = nn.ModuleList([Block(d, h) for _ in range(layers)])
        self.lnf = nn.LayerNorm(d)

    def forward(self, ids):
        x = self.wte(ids) + self.wpe[: ids.shape[1]]
        for b in self.blocks:
            x = b(x)
        return self.lnf(x) @ self.wte.weight.t()


class CharLSTM(nn.Module):
    def __init__(self):
        super().__init__()
        self.emb = nn.Embedding(V, 64)
        self.lstm = nn.LSTM(64, 128, batch_first=True)
        self.head = nn.Linear(128, V)

    def forward(self, ids):
        h, _ = self.lstm(self.emb(ids))
        return self.head(h)


def run():
    model = {'gpt': GPT, 'lstm': CharLSTM}[workload]()
    x = torch.randint(0, V, (B, T))
    y = torch.randint(0, V, (B, T))
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)

    def step():
        opt.zero_grad(set_to_none=True)
        loss = F.cross_entropy(model(x).reshape(-1, V), y.reshape(-1))
        loss.backward()
        opt.step()

    ms = median_step_ms(step, steps, reps)
    return {"workload": workload, "threads": threads, "ms_per_step": ms, "samples_per_s": B / (ms / 1000)}


print(json.dumps(run()))
