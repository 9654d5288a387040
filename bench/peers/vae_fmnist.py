#!/usr/bin/env python3
"""PyTorch 1.13 peer of lathe's `vae` on binarised Fashion-MNIST: the same architecture, data protocol and bounds.

usage: vae_fmnist.py --epochs E [--arch mlp|conv] [--threads 2] [--seed 0] [--k 5000] [--images 1000]
                     [--data /usr/share/datasets/fashion-mnist]
prints one JSON line: {"framework":"pytorch","epochs",...,"test_elbo","bounds":{"elbo","iwae","k","images"},"seconds"}

Same as lathe (src/models/vae.ts, examples/vae-fmnist.yaml): encoder 784-400-(20+20) ReLU (or the conv arch: two
4x4 stride-2 convs 32, 64 -> dense), decoder mirrored, Bernoulli logits; PyTorch's default inits; Adam(1e-3),
batch 128, shuffled each epoch; dynamic binarisation (each pixel ~ Bernoulli(intensity), fresh per step); the
test set binarised once with lathe's binarizeFixed (src/data/pixels.ts, reproduced bit for bit below), so both
frameworks score the same binary images. Test ELBO with one z per image; bounds with k importance samples.
"""
import argparse, gzip, json, math, time
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

p = argparse.ArgumentParser()
p.add_argument('--epochs', type=int, required=True)
p.add_argument('--arch', default='mlp')
p.add_argument('--threads', type=int, default=2)
p.add_argument('--seed', type=int, default=0)
p.add_argument('--k', type=int, default=5000)
p.add_argument('--images', type=int, default=1000)
p.add_argument('--chunk', type=int, default=400)
p.add_argument('--data', default='/usr/share/datasets/fashion-mnist')
p.add_argument('--hidden', type=int, default=400)
p.add_argument('--latent', type=int, default=20)
a = p.parse_args()
torch.set_num_threads(a.threads)
torch.manual_seed(a.seed)

def idx_images(path):
    with gzip.open(path) as f:
        raw = f.read()
    n = int.from_bytes(raw[4:8], 'big')
    return np.frombuffer(raw, dtype=np.uint8, offset=16).reshape(n, 1, 28, 28)

MEAN, STD = 0.286, 0.353
# lathe's pixels: float32 of (v/255 - mean)/std, mapped back to [0, 1] in double and stored as float32
lut_norm = np.array([(v / 255 - MEAN) / STD for v in range(256)], dtype=np.float32)
lut_unit = np.clip(lut_norm.astype(np.float64) * STD + MEAN, 0, 1).astype(np.float32)
M = np.uint64(0xFFFFFFFF)

def hash32(x):
    h = np.asarray(x, dtype=np.uint64) & M
    h ^= h >> np.uint64(16)
    h = (h * np.uint64(0x21F0AAAD)) & M
    h ^= h >> np.uint64(15)
    h = (h * np.uint64(0x735A2D97)) & M
    h ^= h >> np.uint64(15)
    return h

def binarize_fixed(p, seed=0):
    k = int(hash32(seed))
    i = np.arange(p.size, dtype=np.uint64)
    u = (hash32(np.uint64(k) ^ i).astype(np.float64) + 0.5) / 2 ** 32
    return (u < p.reshape(-1).astype(np.float64)).astype(np.float32).reshape(p.shape)

train = torch.from_numpy(lut_unit[idx_images(f'{a.data}/train-images-idx3-ubyte.gz')])
test = torch.from_numpy(binarize_fixed(lut_unit[idx_images(f'{a.data}/t10k-images-idx3-ubyte.gz')]))

class VAE(nn.Module):
    def __init__(s, arch, hidden, latent):
        super().__init__()
        s.arch, s.latent = arch, latent
        if arch == 'conv':
            s.enc_convs = nn.ModuleList([nn.Conv2d(1, 32, 4, 2, 1), nn.Conv2d(32, 64, 4, 2, 1)])
            s.enc = nn.ModuleList([nn.Linear(64 * 49, hidden)])
            s.dec = nn.ModuleList([nn.Linear(latent, hidden), nn.Linear(hidden, 64 * 49)])
            s.deconvs = nn.ModuleList([nn.ConvTranspose2d(64, 32, 4, 2, 1), nn.ConvTranspose2d(32, 1, 4, 2, 1)])
        else:
            s.enc_convs = nn.ModuleList()
            s.enc = nn.ModuleList([nn.Linear(784, hidden)])
            s.dec = nn.ModuleList([nn.Linear(latent, hidden), nn.Linear(hidden, 784)])
            s.deconvs = nn.ModuleList()
        s.head = nn.Linear(hidden, 2 * latent)

    def encode(s, x):
        h = x
        for c in s.enc_convs: h = F.relu(c(h))
        h = h.reshape(h.shape[0], -1)
        for l in s.enc: h = F.relu(l(h))
        mu, logvar = s.head(h).chunk(2, 1)
        return mu, logvar

    def decode(s, z):
        h = z
        for i, l in enumerate(s.dec):
            h = l(h)
            if i < len(s.dec) - 1 or len(s.deconvs): h = F.relu(h)
        if not len(s.deconvs): return h.reshape(-1, 1, 28, 28)
        h = F.relu(s.deconvs[0](h.reshape(-1, 64, 7, 7)))
        return s.deconvs[1](h)

def log_lik(logits, x):  # log Bernoulli(x; sigmoid(l)) summed per image
    return (x * logits - F.softplus(logits)).sum((1, 2, 3))

def terms(m, x):
    mu, logvar = m.encode(x)
    z = mu + torch.exp(0.5 * logvar) * torch.randn_like(mu)
    rec = -log_lik(m.decode(z), x)
    kl = 0.5 * (mu.pow(2) + logvar.exp() - 1 - logvar).sum(1)
    return rec, kl

m = VAE(a.arch, a.hidden, a.latent)
opt = torch.optim.Adam(m.parameters(), lr=1e-3)
t0 = time.time()
n = train.shape[0]
for epoch in range(a.epochs):
    perm = torch.randperm(n)
    tot = 0.0
    for s in range(0, n, 128):
        x = torch.bernoulli(train[perm[s:s + 128]])
        rec, kl = terms(m, x)
        loss = (rec + kl).mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        tot += loss.item() * x.shape[0]
    print(json.dumps({'event': 'epoch', 'epoch': epoch, 'train_loss': tot / n, 'seconds': time.time() - t0}), flush=True)
train_s = time.time() - t0

with torch.no_grad():
    m.eval()
    neg = 0.0
    for s in range(0, test.shape[0], 500):
        rec, kl = terms(m, test[s:s + 500])
        neg += (rec + kl).sum().item()
    test_elbo = -neg / test.shape[0]
    # bounds: k importance samples per image in chunks, log-mean-exp accumulated in float64
    elbo_sum = iwae_sum = 0.0
    imgs = test[:a.images]
    for i in range(0, imgs.shape[0], 50):
        x = imgs[i:i + 50]
        b = x.shape[0]
        mu, logvar = m.encode(x)
        lws = []
        for c in range(a.k // a.chunk):
            eps = torch.randn(b, a.chunk, a.latent)
            z = mu[:, None] + torch.exp(0.5 * logvar)[:, None] * eps
            log_q = -0.5 * (logvar[:, None] + eps.pow(2) + math.log(2 * math.pi)).sum(2)
            log_pz = -0.5 * (z.pow(2) + math.log(2 * math.pi)).sum(2)
            xs = x[:, None].expand(b, a.chunk, 1, 28, 28).reshape(-1, 1, 28, 28)
            log_px = log_lik(m.decode(z.reshape(-1, a.latent)), xs).reshape(b, a.chunk)
            lws.append((log_px + log_pz - log_q).double())
        lw = torch.cat(lws, 1)
        elbo_sum += lw.mean(1).sum().item()
        iwae_sum += (torch.logsumexp(lw, 1) - math.log(a.k)).sum().item()
print(json.dumps({'framework': 'pytorch', 'torch': torch.__version__, 'arch': a.arch, 'epochs': a.epochs, 'threads': a.threads,
                  'train_seconds': train_s, 'test_elbo': test_elbo,
                  'bounds': {'elbo': elbo_sum / imgs.shape[0], 'iwae': iwae_sum / imgs.shape[0], 'k': a.k, 'images': int(imgs.shape[0])}}))
