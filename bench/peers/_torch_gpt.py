"""The GPT-mini architecture the PyTorch peers share (bench/peers/torch_seq.py trains it, torch_infer.py runs it):
pre-norm blocks (causal attention, GELU MLP 4x), learned positions, tied embeddings."""
import math
import torch
import torch.nn as nn
import torch.nn.functional as F


class Block(nn.Module):
    def __init__(self, d, h, T):
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
    def __init__(self, V, T, d=128, h=4, layers=2):
        super().__init__()
        self.wte = nn.Embedding(V, d)
        self.wpe = nn.Parameter(torch.randn(T, d) * 0.01)
        self.blocks = nn.ModuleList([Block(d, h, T) for _ in range(layers)])
        self.lnf = nn.LayerNorm(d)

    def forward(self, ids):
        x = self.wte(ids) + self.wpe[: ids.shape[1]]
        for b in self.blocks:
            x = b(x)
        return self.lnf(x) @ self.wte.weight.t()
