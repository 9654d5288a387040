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
from _torch_gpt import GPT
import torch
import torch.nn as nn
import torch.nn.functional as F

V, T, B = 96, 64, 32


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
    model = GPT(V, T) if workload == 'gpt' else CharLSTM()
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


# V, T, B and the models above are imported by torch_ddp.py; only a run as a script times them.
if __name__ == '__main__':
    workload, threads, steps, reps = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    print(json.dumps(run()))
