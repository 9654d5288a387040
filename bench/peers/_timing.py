"""Timing shared by the PyTorch peers: warm-up steps, then the median over `reps` repetitions of `steps` steps."""
import statistics
import time


def median_step_ms(step, steps, reps, warmup=10):
    for _ in range(warmup):
        step()
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        for _ in range(steps):
            step()
        times.append((time.perf_counter() - t0) / steps)
    return statistics.median(times) * 1000
