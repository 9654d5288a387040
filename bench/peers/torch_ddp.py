#!/usr/bin/env python3
"""PyTorch 1.13 DDP peer for `npm run bench -- ddp`: gloo backend, N processes (default 2) on 127.0.0.1.

usage:
  torch_ddp.py --workload cnn|mlp|gpt --batch B --steps S --world-size 2 --threads T
      prints {"workload", "world_size", "batch_per_rank", "threads", "steps", "channels_last", "seconds",
      "samples_per_s"}:
      DistributedDataParallel training (Adam, lr 1e-3, cross-entropy) of the single-process peers' models
      (mlp/cnn from torch_train.py, the GPT-mini of _torch_gpt.py with torch_seq.py's vocab/context); B is the
      per-rank batch, samples_per_s counts the samples of all ranks: world_size * B * S / seconds. Ten warm-up
      steps (DDP's bucket rebuild happens in the first) are not timed. The CNN is timed in both memory layouts
      (contiguous, channels_last) and the faster is reported, as torch_train.py does. The bench's batches are
      B = 128 (mlp), 64 (cnn), 32 (gpt) per rank, as in bench/_workloads.ts and torch_seq.py.
  torch_ddp.py --allreduce-mb M --iters I [--world-size 2]
      prints {"mb", "world_size", "iters", "seconds_per_op", "bandwidth_mb_s"}: dist.all_reduce (SUM) of a float32
      buffer of M MB (M * 2^20 bytes = M * 262144 floats), median seconds per op over I timed ops after 3 warm-up
      ops; bandwidth_mb_s = M / seconds_per_op (buffer MB per second, the "algorithm bandwidth", not bus bandwidth).

Each rank is a process (torch.multiprocessing.spawn) with its own gloo process group over the loopback interface;
timing is taken on rank 0 between two barriers, so it covers the slowest rank. OMP_WAIT_POLICY defaults to PASSIVE
(spinning OpenMP threads make PyTorch 10-15x slower on a loaded 2-core machine; see torch_train.py).
"""
import argparse
import json
import os
import socket
import statistics
import sys
import time

sys.dont_write_bytecode = True  # importing the sibling peers leaves no __pycache__ in the repository
os.environ.setdefault('OMP_WAIT_POLICY', 'PASSIVE')
os.environ.setdefault('GLOO_SOCKET_IFNAME', 'lo')

import torch  # noqa: E402  (after the OpenMP environment is set)
import torch.distributed as dist  # noqa: E402
import torch.multiprocessing as mp  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from torch.nn.parallel import DistributedDataParallel as DDP  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _torch_gpt import GPT  # noqa: E402
from torch_seq import V, T  # noqa: E402  (the GPT workload's vocab and context)
from torch_train import cnn, mlp  # noqa: E402

WARMUP_STEPS = 10
WARMUP_OPS = 3


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def init(rank, world, port, threads):
    torch.set_num_threads(threads)
    os.environ['MASTER_ADDR'] = '127.0.0.1'
    os.environ['MASTER_PORT'] = str(port)
    dist.init_process_group('gloo', rank=rank, world_size=world)


def model_and_batch(workload, batch, rank):
    """The peer model (same init on every rank; DDP broadcasts rank 0's anyway) and a per-rank random batch."""
    torch.manual_seed(0)
    if workload == 'gpt':
        model = GPT(V, T)
    else:
        model = {'mlp': mlp, 'cnn': cnn}[workload]()[0]
    g = torch.Generator().manual_seed(1 + rank)
    if workload == 'gpt':
        x = torch.randint(0, V, (batch, T), generator=g)
        y = torch.randint(0, V, (batch, T), generator=g)
    else:
        shape = (batch, 784) if workload == 'mlp' else (batch, 1, 28, 28)
        x = torch.randn(shape, generator=g)
        y = torch.randint(0, 10, (batch,), generator=g)
    return model, x, y


def timed_training(args, rank, channels_last):
    """Seconds for args.steps DDP steps (after the warm-up), between two barriers."""
    model, x, y = model_and_batch(args.workload, args.batch, rank)
    if channels_last:
        model = model.to(memory_format=torch.channels_last)
        x = x.contiguous(memory_format=torch.channels_last)
    ddp = DDP(model)
    opt = torch.optim.Adam(ddp.parameters(), lr=1e-3)

    def step():
        opt.zero_grad(set_to_none=True)
        logits = ddp(x)
        loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1))
        loss.backward()
        opt.step()

    for _ in range(WARMUP_STEPS):
        step()
    dist.barrier()
    t0 = time.perf_counter()
    for _ in range(args.steps):
        step()
    dist.barrier()
    return time.perf_counter() - t0


def train_worker(rank, args, port, out):
    init(rank, args.world_size, port, args.threads)
    # like torch_train.py, the CNN gets its faster memory layout (contiguous or channels_last)
    layouts = [False, True] if args.workload == 'cnn' else [False]
    runs = [(timed_training(args, rank, cl), cl) for cl in layouts]
    seconds, channels_last = min(runs)
    if rank == 0:
        out.put({
            'workload': args.workload,
            'world_size': args.world_size,
            'batch_per_rank': args.batch,
            'threads': args.threads,
            'steps': args.steps,
            'channels_last': channels_last,
            'seconds': seconds,
            'samples_per_s': args.world_size * args.batch * args.steps / seconds,
        })
    dist.destroy_process_group()


def allreduce_worker(rank, args, port, out):
    init(rank, args.world_size, port, args.threads)
    n = int(args.allreduce_mb * (1 << 20)) // 4
    buf = torch.ones(n, dtype=torch.float32)
    for _ in range(WARMUP_OPS):
        dist.all_reduce(buf)
    times = []
    for _ in range(args.iters):
        dist.barrier()
        t0 = time.perf_counter()
        dist.all_reduce(buf)
        times.append(time.perf_counter() - t0)
    # each rank's median; the op is done when the slowest rank is done
    mine = torch.tensor([statistics.median(times)], dtype=torch.float64)
    dist.all_reduce(mine, op=dist.ReduceOp.MAX)
    if rank == 0:
        s = float(mine.item())
        mb = args.allreduce_mb
        out.put({
            'mb': int(mb) if mb == int(mb) else mb,
            'world_size': args.world_size,
            'iters': args.iters,
            'seconds_per_op': s,
            'bandwidth_mb_s': mb / s,
        })
    dist.destroy_process_group()


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    p.add_argument('--workload', choices=['cnn', 'mlp', 'gpt'])
    p.add_argument('--batch', type=int, help='per-rank batch')
    p.add_argument('--steps', type=int, help='timed steps (after %d warm-up steps)' % WARMUP_STEPS)
    p.add_argument('--world-size', type=int, default=2)
    p.add_argument('--threads', type=int, default=1, help='intra-op threads per rank')
    p.add_argument('--allreduce-mb', type=float, help='all-reduce bandwidth mode: buffer size in MB (2^20 bytes)')
    p.add_argument('--iters', type=int, default=20, help='all-reduce mode: timed ops')
    a = p.parse_args(argv)
    if a.world_size < 1:
        p.error('--world-size must be at least 1')
    if a.threads < 1:
        p.error('--threads must be at least 1')
    if a.allreduce_mb is not None:
        if a.workload is not None:
            p.error('--allreduce-mb and --workload are two different modes; give one')
        if a.allreduce_mb <= 0 or a.iters < 1:
            p.error('--allreduce-mb must be positive and --iters at least 1')
    else:
        if a.workload is None or a.batch is None or a.steps is None:
            p.error('give --workload, --batch and --steps (or --allreduce-mb M --iters I)')
        if a.batch < 1 or a.steps < 1:
            p.error('--batch and --steps must be at least 1')
    return a


def main(argv):
    args = parse_args(argv)
    worker = allreduce_worker if args.allreduce_mb is not None else train_worker
    ctx = mp.get_context('spawn')
    out = ctx.SimpleQueue()
    mp.spawn(worker, args=(args, free_port(), out), nprocs=args.world_size, join=True)
    print(json.dumps(out.get()))


if __name__ == '__main__':
    main(sys.argv[1:])
