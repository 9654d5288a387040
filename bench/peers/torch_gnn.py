#!/usr/bin/env python3
"""PyTorch 1.13 peer for lathe's graph networks on Cora (plain torch, no PyG), the same models and protocol as
scripts/quality-gnn.ts (GNN_PROTOCOLS) and the same data (data/cora/cora.json, features row-normalised).

usage: torch_gnn.py quality <gcn|gat|graphsage> <seeds> [threads]
         one JSON line per seed and a summary: test accuracy at the epoch of best validation accuracy (ties: lower
         validation loss); GAT stops when neither validation loss nor accuracy improved for 100 epochs.
       torch_gnn.py bench <gcn|gat|graphsage> <threads> <steps> <reps>
         one JSON line {"workload", "threads", "ms_per_step", "samples_per_s"}: one full-batch training step
         (forward, loss on the 140 training nodes, backward, Adam) in train mode; samples = nodes per step.
Run with OMP_WAIT_POLICY=PASSIVE. The bag-of-words input is a sparse COO tensor, dropped out over its nonzeros
(Kipf & Welling's sparse_dropout; lathe's sparseInput does the same). Propagation is the fastest plain-torch form for each model: GCN and SAGE-mean as a
sparse (COO) matrix product with the normalised adjacency built once (as Kipf & Welling's code), GAT with
index_select / index_add_ over the edge list (attention needs per-edge scores).
"""
import json, os, statistics, sys
import torch
import torch.nn as nn
import torch.nn.functional as F
sys.path.insert(0, os.path.dirname(__file__))
from _timing import median_step_ms

ROOT = os.path.join(os.path.dirname(__file__), '..', '..')

def load():
    d = json.load(open(os.path.join(ROOT, 'data', 'cora', 'cora.json')))
    n, f = d['num_nodes'], d['num_features']
    x = torch.zeros(n, f)
    for i, row in enumerate(d['features']):
        x[i, row] = 1.0
    x = x / x.sum(1, keepdim=True).clamp(min=1)
    e = set()
    for a, b in d['edges']:
        if a != b:
            e.add((a, b)); e.add((b, a))
    e = sorted(e)
    src = torch.tensor([a for a, _ in e]); dst = torch.tensor([b for _, b in e])
    y = torch.tensor(d['labels'])
    masks = {}
    for s in ('train', 'val', 'test'):
        m = torch.zeros(n, dtype=torch.bool); m[d[s]] = True; masks[s] = m
    return x.to_sparse().coalesce(), src, dst, y, masks

def adjacency(src, dst, n, kind):
    if kind == 'gcn':
        ids = torch.arange(n)
        s = torch.cat([src, ids]); t = torch.cat([dst, ids])
        deg = torch.zeros(n).index_add_(0, t, torch.ones(len(t)))
        w = deg[s].pow(-0.5) * deg[t].pow(-0.5)
    else:  # mean over in-neighbours
        s, t = src, dst
        deg = torch.zeros(n).index_add_(0, t, torch.ones(len(t)))
        w = 1.0 / deg[t]
    return torch.sparse_coo_tensor(torch.stack([t, s]), w, (n, n)).coalesce()

def sparse_dropout_mm(x, w, p, training):
    """dropout(x) @ wᵀ over the nonzeros of a sparse x (Kipf & Welling's sparse_dropout): the same model, faster."""
    xs = torch.sparse_coo_tensor(x.indices(), F.dropout(x.values(), p, training), x.shape)
    return torch.sparse.mm(xs, w.t())

def glorot(*shape):
    p = nn.Parameter(torch.empty(*shape)); nn.init.xavier_uniform_(p); return p

class GCN(nn.Module):
    def __init__(s, f, c, hidden=16, dropout=0.5):
        super().__init__()
        s.w1, s.b1 = glorot(hidden, f), nn.Parameter(torch.zeros(hidden))
        s.w2, s.b2 = glorot(c, hidden), nn.Parameter(torch.zeros(c))
        s.p = dropout
    def forward(s, x, g):
        h = F.relu(torch.sparse.mm(g['adj'], sparse_dropout_mm(x, s.w1, s.p, s.training)) + s.b1)
        return torch.sparse.mm(g['adj'], F.dropout(h, s.p, s.training) @ s.w2.t()) + s.b2

class GATLayer(nn.Module):
    def __init__(s, f, c, heads, concat, p_attn):
        super().__init__()
        s.w = glorot(heads * c, f); s.a_src = glorot(heads, c); s.a_dst = glorot(heads, c)
        s.b = nn.Parameter(torch.zeros(heads * c if concat else c))
        s.h, s.c, s.concat, s.p = heads, c, concat, p_attn
    def forward(s, x, g, p_in):
        src, dst, n = g['src_l'], g['dst_l'], x.shape[0]
        h = (sparse_dropout_mm(x, s.w, p_in, s.training) if x.is_sparse else F.dropout(x, p_in, s.training) @ s.w.t()).view(n, s.h, s.c)
        e = F.leaky_relu((h * s.a_src).sum(-1)[src] + (h * s.a_dst).sum(-1)[dst], 0.2)  # [E, H]
        m = torch.zeros(n, s.h).scatter_reduce(0, dst.unsqueeze(1).expand_as(e), e, 'amax', include_self=False).detach()
        ex = (e - m[dst]).exp()
        alpha = ex / torch.zeros(n, s.h).index_add_(0, dst, ex)[dst]
        alpha = F.dropout(alpha, s.p, s.training)
        out = torch.zeros(n, s.h, s.c).index_add_(0, dst, h[src] * alpha.unsqueeze(-1))
        return (out.reshape(n, -1) if s.concat else out.mean(1)) + s.b

class GAT(nn.Module):
    def __init__(s, f, c, hidden=8, heads=8, out_heads=1, dropout=0.6, attn_dropout=0.6):
        super().__init__()
        s.l1 = GATLayer(f, hidden, heads, True, attn_dropout); s.l2 = GATLayer(hidden * heads, c, out_heads, False, attn_dropout)
        s.p = dropout
    def forward(s, x, g):
        h = F.elu(s.l1(x, g, s.p))
        return s.l2(h, g, s.p)

class SAGE(nn.Module):
    def __init__(s, f, c, hidden=16, dropout=0.5):
        super().__init__()
        s.l1, s.r1 = nn.Linear(f, hidden), nn.Linear(f, hidden, bias=False)
        s.l2, s.r2 = nn.Linear(hidden, c), nn.Linear(hidden, c, bias=False)
        s.p = dropout
    def forward(s, x, g):
        both = sparse_dropout_mm(x, torch.cat([s.l1.weight, s.r1.weight]), s.p, s.training)  # one dropout for both
        k = s.l1.weight.shape[0]
        h = F.relu(torch.sparse.mm(g['mean'], both[:, :k]) + s.l1.bias + both[:, k:])
        h = F.dropout(h, s.p, s.training)
        return torch.sparse.mm(g['mean'], h @ s.l2.weight.t()) + s.l2.bias + s.r2(h)

PROTOCOLS = {
    'gcn': (GCN, 0.01, 5e-4, 200, None),
    'gat': (GAT, 0.005, 5e-4, 1000, 100),
    'graphsage': (SAGE, 0.01, 5e-4, 200, None),
}

def graph_inputs(src, dst, n):
    ids = torch.arange(n)
    return {'adj': adjacency(src, dst, n, 'gcn'), 'mean': adjacency(src, dst, n, 'mean'),
            'src_l': torch.cat([src, ids]), 'dst_l': torch.cat([dst, ids])}

def quality(model, seeds):
    x, src, dst, y, masks = load()
    g = graph_inputs(src, dst, x.shape[0])
    cls, lr, wd, epochs, patience = PROTOCOLS[model]
    accs = []
    for seed in range(seeds):
        torch.manual_seed(seed)
        net = cls(x.shape[1], int(y.max()) + 1)
        opt = torch.optim.Adam(net.parameters(), lr=lr, weight_decay=wd)
        best = (-1.0, float('inf'), 0.0, 0); best_loss, best_acc, since, ran = float('inf'), -1.0, 0, 0
        for ep in range(epochs):
            net.train(); opt.zero_grad()
            F.cross_entropy(net(x, g)[masks['train']], y[masks['train']]).backward(); opt.step()
            ran += 1
            net.eval()
            with torch.no_grad():
                out = net(x, g)
                vl = F.cross_entropy(out[masks['val']], y[masks['val']]).item()
                pred = out.argmax(1)
                va = (pred[masks['val']] == y[masks['val']]).float().mean().item()
                ta = (pred[masks['test']] == y[masks['test']]).float().mean().item()
            if va > best[0] or (va == best[0] and vl < best[1]):
                best = (va, vl, ta, ep)
            since = 0 if (vl < best_loss or va > best_acc) else since + 1
            best_loss, best_acc = min(best_loss, vl), max(best_acc, va)
            if patience is not None and since >= patience:
                break
        accs.append(best[2])
        print(json.dumps({'peer': 'pytorch', 'quality': f'{model}-cora', 'seed': seed, 'test_accuracy': round(best[2], 4), 'val_accuracy': round(best[0], 4), 'best_epoch': best[3], 'epochs': ran}), flush=True)
    print(json.dumps({'peer': 'pytorch', 'quality': f'{model}-cora', 'seeds': seeds, 'test_accuracy_mean': round(statistics.mean(accs), 4),
                      'test_accuracy_std': round(statistics.stdev(accs), 4) if len(accs) > 1 else 0.0, 'torch': torch.__version__}), flush=True)

def bench(model, threads, steps, reps):
    x, src, dst, y, masks = load()
    g = graph_inputs(src, dst, x.shape[0])
    cls, lr, wd, _, _ = PROTOCOLS[model]
    torch.manual_seed(0)
    net = cls(x.shape[1], int(y.max()) + 1); net.train()
    opt = torch.optim.Adam(net.parameters(), lr=lr, weight_decay=wd)
    tm = masks['train']
    def step():
        opt.zero_grad(set_to_none=True)
        F.cross_entropy(net(x, g)[tm], y[tm]).backward(); opt.step()
    ms = median_step_ms(step, steps, reps, warmup=5)
    print(json.dumps({'workload': f'{model}-cora-train', 'threads': threads, 'ms_per_step': ms, 'samples_per_s': x.shape[0] / (ms / 1000)}))

if __name__ == '__main__':
    mode, model = sys.argv[1], sys.argv[2]
    if mode == 'quality':
        torch.set_num_threads(int(sys.argv[4]) if len(sys.argv) > 4 else 1)
        quality(model, int(sys.argv[3]))
    else:
        torch.set_num_threads(int(sys.argv[3]))
        bench(model, int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]))
