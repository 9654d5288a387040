#!/usr/bin/python3
"""Optuna 3.1 peer for bench/tune.ts. Prints one JSON object on the last line of stdout.

  optuna_tune.py quality <tpe|cmaes> <branin|hartmann6|rosenbrock10> <seeds> <trials>
      -> {"best": [best value after <trials> trials, one per seed 0..seeds-1]}
  optuna_tune.py overhead <filled> <measured> <params>
      -> {"ms_per_trial": mean wall time of ask+tell for TPE over a study already holding <filled> trials}
"""
import json
import math
import sys
import time
import warnings

import numpy as np
import optuna

optuna.logging.set_verbosity(optuna.logging.ERROR)
warnings.filterwarnings("ignore")


def branin(x):
    x1, x2 = x
    a, b, c = 1.0, 5.1 / (4 * math.pi ** 2), 5.0 / math.pi
    r, s, t = 6.0, 10.0, 1.0 / (8 * math.pi)
    return a * (x2 - b * x1 ** 2 + c * x1 - r) ** 2 + s * (1 - t) * math.cos(x1) + s


HA = [[10, 3, 17, 3.5, 1.7, 8], [0.05, 10, 17, 0.1, 8, 14], [3, 3.5, 1.7, 10, 17, 8], [17, 8, 0.05, 10, 0.1, 14]]
HC = [1.0, 1.2, 3.0, 3.2]
HP = [[1312, 1696, 5569, 124, 8283, 5886], [2329, 4135, 8307, 3736, 1004, 9991],
      [2348, 1451, 3522, 2883, 3047, 6650], [4047, 8828, 8732, 5743, 1091, 381]]


def hartmann6(x):
    total = 0.0
    for i in range(4):
        inner = sum(HA[i][j] * (x[j] - HP[i][j] * 1e-4) ** 2 for j in range(6))
        total += HC[i] * math.exp(-inner)
    return -total


def rosenbrock(x):
    return sum(100.0 * (x[i + 1] - x[i] ** 2) ** 2 + (1 - x[i]) ** 2 for i in range(len(x) - 1))


FUNCTIONS = {
    "branin": (branin, [(-5.0, 10.0), (0.0, 15.0)]),
    "hartmann6": (hartmann6, [(0.0, 1.0)] * 6),
    "rosenbrock10": (rosenbrock, [(-5.0, 10.0)] * 10),
}


def quality(sampler_name, fn_name, seeds, trials):
    fn, bounds = FUNCTIONS[fn_name]
    best = []
    for seed in range(seeds):
        if sampler_name == "tpe":
            sampler = optuna.samplers.TPESampler(seed=seed)
        else:
            sampler = optuna.samplers.CmaEsSampler(seed=seed)
        study = optuna.create_study(sampler=sampler, direction="minimize")

        def objective(trial):
            x = [trial.suggest_float(f"x{i}", lo, hi) for i, (lo, hi) in enumerate(bounds)]
            return fn(x)

        study.optimize(objective, n_trials=trials)
        best.append(study.best_value)
    return {"best": best}


def overhead(filled, measured, n_params):
    rng = np.random.RandomState(0)
    dists = {f"x{i}": optuna.distributions.FloatDistribution(-5.0, 5.0) for i in range(n_params)}
    study = optuna.create_study(sampler=optuna.samplers.TPESampler(seed=0))
    pre = []
    for _ in range(filled):
        params = {k: float(rng.uniform(-5, 5)) for k in dists}
        pre.append(optuna.trial.create_trial(params=params, distributions=dists, value=sum(v * v for v in params.values())))
    study.add_trials(pre)
    t0 = time.perf_counter()
    for _ in range(measured):
        trial = study.ask(dists)
        study.tell(trial, sum(trial.params[k] ** 2 for k in dists))
    return {"ms_per_trial": (time.perf_counter() - t0) * 1000.0 / measured}


def main(argv):
    if argv[0] == "quality":
        out = quality(argv[1], argv[2], int(argv[3]), int(argv[4]))
    elif argv[0] == "overhead":
        out = overhead(int(argv[1]), int(argv[2]), int(argv[3]))
    else:
        raise SystemExit(f"unknown mode {argv[0]}")
    out["optuna"] = optuna.__version__
    print(json.dumps(out))


if __name__ == "__main__":
    main(sys.argv[1:])
