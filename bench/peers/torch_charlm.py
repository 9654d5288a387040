#!/usr/bin/env python3
"""PyTorch 1.13 peer of `npm run quality -- gpt|lstm|gru` (scripts/quality-lm.ts): the same character LM trained on
the same batches from the same initial weights, with the same optimizer, schedule, clipping and validation schedule.

usage: torch_charlm.py <work dir>
The work dir (written by scripts/quality-lm.ts) holds:
  spec.json          model, config, batch, context, steps, eval_every, patience, train_end, val_end, adam, clip,
                     threads and lrs (the learning rate of every step)
  ids.u8             the encoded corpus, one byte per character id
  batches.i32        int32 little-endian window offsets, steps x batch, in step order
  init.safetensors   lathe's initial weights, under lathe's parameter names
Prints progress lines (JSON) on stderr and one JSON result on stdout:
  {best_val_bpc, best_step, test_bpc, steps_done, train_s, wall_s, curve}

Models, parameter for parameter as lathe's (src/models/transformer.ts, src/models/rnn.ts):
  gpt   token embedding (tied output head), pre-norm blocks: LayerNorm (eps 1e-5) -> fused qkv projection -> heads
        -> rotary embeddings (rotate-half, base 10000) on q and k -> q / sqrt(head dim) -> causal softmax attention
        -> output projection; LayerNorm -> Linear 4x -> exact GELU -> Linear; final LayerNorm; no dropout.
  lstm / gru  embedding -> one nn.LSTM / nn.GRU layer (PyTorch's gate order, as lathe's) -> Linear head.
"""
import json, math, os, struct, sys, time
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

T0 = time.perf_counter()
work = sys.argv[1]
spec = json.load(open(os.path.join(work, 'spec.json')))
torch.set_num_threads(spec['threads'])
torch.manual_seed(0)  # nothing is drawn: the weights come from lathe and there is no dropout
cfg = spec['config']
B, T = spec['batch'], spec['context']


def read_safetensors(path):
    raw = open(path, 'rb').read()
    (n,) = struct.unpack('<Q', raw[:8])
    header = json.loads(raw[8:8 + n])
    base = 8 + n
    out = {}
    for k, v in header.items():
        if k == '__metadata__':
            continue
        assert v['dtype'] == 'F32', f'{k}: {v["dtype"]}'
        a, b = v['data_offsets']
        out[k] = torch.from_numpy(np.frombuffer(raw[base + a:base + b], dtype='<f4').copy()).reshape(v['shape'])
    return out


def rope_tables(max_len, hd, base=10000.0):
    # float64 angles rounded to float32, as src/nn/layers/attention.ts's ropeTables
    half = hd // 2
    p = np.arange(max_len, dtype=np.float64)[:, None]
    inv = base ** (-(2.0 * np.arange(half, dtype=np.float64)) / hd)
    a = p * inv[None, :]
    cos = np.concatenate([np.cos(a), np.cos(a)], 1).astype(np.float32)
    sin = np.concatenate([np.sin(a), np.sin(a)], 1).astype(np.float32)
    return torch.from_numpy(cos), torch.from_numpy(sin)


class Attention(nn.Module):
    def __init__(self, d, h, ctx):
        super().__init__()
        self.h = h
        self.qkv = nn.Parameter(torch.empty(3 * d, d))
        self.qkvBias = nn.Parameter(torch.empty(3 * d))
        self.out = nn.Parameter(torch.empty(d, d))
        self.outBias = nn.Parameter(torch.empty(d))
        cos, sin = rope_tables(ctx, d // h)
        self.register_buffer('cos', cos, persistent=False)
        self.register_buffer('sin', sin, persistent=False)
        self.register_buffer('mask', torch.full((ctx, ctx), -1e9).triu(1), persistent=False)

    def rope(self, x):
        t = x.shape[2]
        half = x.shape[-1] // 2
        rot = torch.cat([-x[..., half:], x[..., :half]], -1)
        return x * self.cos[:t] + rot * self.sin[:t]

    def forward(self, x):
        b, t, d = x.shape
        hd = d // self.h
        qkv = F.linear(x, self.qkv, self.qkvBias).view(b, t, 3 * self.h, hd).transpose(1, 2)
        q, k, v = qkv.split(self.h, dim=1)
        q = self.rope(q) * (1.0 / math.sqrt(hd))
        k = self.rope(k)
        att = (q @ k.transpose(-2, -1) + self.mask[:t, :t]).softmax(-1)
        y = (att @ v).transpose(1, 2).reshape(b, t, d)
        return F.linear(y, self.out, self.outBias)


class Block(nn.Module):
    def __init__(self, d, h, ctx):
        super().__init__()
        self.ln1 = nn.LayerNorm(d)
        self.attn = Attention(d, h, ctx)
        self.ln2 = nn.LayerNorm(d)
        self.fc = nn.Linear(d, 4 * d)
        self.proj = nn.Linear(4 * d, d)

    def forward(self, x):
        x = x + self.attn(self.ln1(x))
        return x + self.proj(F.gelu(self.fc(self.ln2(x))))


class GPT(nn.Module):
    def __init__(self, c):
        super().__init__()
        assert c['positions'] == 'rope'
        self.wte = nn.Parameter(torch.empty(c['vocab'], c['dim']))
        self.blocks = nn.ModuleList([Block(c['dim'], c['heads'], c['context']) for _ in range(c['layers'])])
        self.lnf = nn.LayerNorm(c['dim'])

    def forward(self, ids):
        x = F.embedding(ids, self.wte)
        for b in self.blocks:
            x = b(x)
        return self.lnf(x) @ self.wte.t()


class CharRNN(nn.Module):
    """lathe's names: emb, rnn.cells.0.{weightIh,weightHh,biasIh,biasHh}, head.{weight,bias}."""

    def __init__(self, cell, c):
        super().__init__()
        self.emb = nn.Parameter(torch.empty(c['vocab'], c['embed']))
        self.rnn = (nn.LSTM if cell == 'lstm' else nn.GRU)(c['embed'], c['hidden'], batch_first=True)
        self.head = nn.Linear(c['hidden'], c['vocab'])

    def load_lathe(self, sd):
        names = {'weightIh': 'weight_ih_l0', 'weightHh': 'weight_hh_l0', 'biasIh': 'bias_ih_l0', 'biasHh': 'bias_hh_l0'}
        out = {}
        for k, v in sd.items():
            if k.startswith('rnn.cells.0.'):
                out['rnn.' + names[k[len('rnn.cells.0.'):]]] = v
            else:
                out[k] = v
        self.load_state_dict(out, strict=True)

    def forward(self, ids):
        h, _ = self.rnn(F.embedding(ids, self.emb))
        return self.head(h)


init = read_safetensors(os.path.join(work, 'init.safetensors'))
if spec['model'] == 'gpt':
    model = GPT(cfg)
    model.load_state_dict(init, strict=True)
else:
    model = CharRNN(spec['model'], cfg)
    model.load_lathe(init)

ids = torch.from_numpy(np.fromfile(os.path.join(work, 'ids.u8'), dtype=np.uint8).astype(np.int64))
offsets = torch.from_numpy(np.fromfile(os.path.join(work, 'batches.i32'), dtype='<i4').astype(np.int64)).view(-1, B)
steps, every = spec['steps'], spec['eval_every']
assert offsets.shape[0] == steps
ar = torch.arange(T + 1)


def windows(starts):
    w = ids[starts[:, None] + ar[None, :]]
    return w[:, :-1], w[:, 1:]


def held_out(lo, hi):
    starts = torch.arange(lo, hi - T, T)  # o + T + 1 <= hi
    return windows(starts)


def mean_bits(split):
    x, y = split
    model.eval()
    total, n = 0.0, 0
    with torch.no_grad():
        for i in range(0, x.shape[0], 64):
            xb, yb = x[i:i + 64], y[i:i + 64]
            # per-batch mean in nats, weighted by rows, as lathe's Trainer.evaluate
            loss = F.cross_entropy(model(xb).reshape(-1, cfg['vocab']), yb.reshape(-1))
            total += loss.item() * xb.shape[0]
            n += xb.shape[0]
    model.train()
    return total / n / math.log(2)


val = held_out(spec['train_end'], spec['val_end'])
test = held_out(spec['val_end'], ids.shape[0])
a = spec['adam']
opt = torch.optim.Adam(model.parameters(), lr=spec['lrs'][0], betas=(a['beta1'], a['beta2']), eps=a['eps'])
best = (math.inf, 0, None)
curve, bad, train_s, done = [], 0, 0.0, 0
for s in range(steps):
    t1 = time.perf_counter()
    x, y = windows(offsets[s])
    for g in opt.param_groups:
        g['lr'] = spec['lrs'][s]
    opt.zero_grad(set_to_none=True)
    loss = F.cross_entropy(model(x).reshape(-1, cfg['vocab']), y.reshape(-1))
    loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), spec['clip'])
    opt.step()
    train_s += time.perf_counter() - t1
    done = s + 1
    if done % every == 0:
        bpc = mean_bits(val)
        curve.append([done, round(bpc, 3)])
        print(json.dumps({'side': 'pytorch', 'model': spec['model'], 'step': done, 'val_bpc': round(bpc, 3), 'train_loss': round(loss.item(), 3), 'elapsed_s': round(time.perf_counter() - T0, 1)}), file=sys.stderr, flush=True)
        if bpc < best[0]:
            best = (bpc, done, {k: v.detach().clone() for k, v in model.state_dict().items()})
            bad = 0
        else:
            bad += 1
            if spec['patience'] is not None and bad >= spec['patience']:
                break
model.load_state_dict(best[2])
test_bpc = mean_bits(test)
print(json.dumps({'best_val_bpc': round(best[0], 3), 'best_step': best[1], 'test_bpc': round(test_bpc, 3), 'steps_done': done,
                  'train_s': round(train_s, 1), 'wall_s': round(time.perf_counter() - T0, 1), 'curve': curve}))
