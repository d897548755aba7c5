"""Benchmark: the overhead trainaction adds to Ray Tune, on 64 trivial trials.

Three runs of the same objective (report ``x``), each a fresh process that starts Ray:

1. ``trainaction run`` of a tuning job (embedded backend, trials table, events, result);
2. a bare ``ray.tune.Tuner`` with Ray's default settings;
3. a bare ``ray.tune.Tuner`` with ``reuse_actors=True``.

Targets: (1) ≤ 0.2 × (2) and ≤ 1.15 × (3). Every run gets 1 CPU per trial, Ray's default.

Run: .venv/bin/python benchmarks/tune_overhead.py [--trials 64] [--repeats 2]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

PLUGIN = """
def train(run, dataset, hyperparameter, checkpoint, **kwargs):
    pass

def tune(hyperparameter, run, dataset, checkpoint, **kwargs):
    from ray import tune
    tune.report({"score": hyperparameter["x"]})
"""

BARE_TUNER = """
import sys
import ray
from ray import tune

def objective(config):
    tune.report({{"score": config["x"]}})

ray.init(include_dashboard=False, log_to_driver=False)
tuner = tune.Tuner(
    objective,
    param_space={{"x": tune.uniform(0, 1)}},
    tune_config=tune.TuneConfig(metric="score", mode="max", num_samples={trials}{reuse}),
    run_config=tune.RunConfig(storage_path=sys.argv[1], verbose=0),
)
grid = tuner.fit()
assert len(grid) == {trials} and not grid.errors
ray.shutdown()
"""


def _timed(command: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    subprocess.run(command, check=True, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def run_trainaction(root: Path, trials: int) -> float:
    plugin = root / "plugin"
    plugin.mkdir()
    (plugin / "plugin.py").write_text(PLUGIN)
    (root / "data").mkdir()
    job = {
        "action": "train",
        "params": {
            "name": "overhead",
            "dataset": 1,
            "is_tune": True,
            "hyperparameters": [{"name": "x", "type": "uniform", "min": 0, "max": 1}],
            "tune_config": {"metric": "score", "mode": "max", "num_samples": trials},
        },
    }
    (root / "job.json").write_text(json.dumps(job))
    env = dict(os.environ, TRAINACTION_HOME=str(root / "home"))
    cli = [sys.executable, "-m", "trainaction"]
    subprocess.run([*cli, "dataset", "add", str(root / "data")], check=True, env=env, capture_output=True)
    elapsed = _timed([*cli, "run", str(root / "job.json"), "--plugin", str(plugin), "--json"], env)
    home = env["TRAINACTION_HOME"]
    done = subprocess.run([*cli, "jobs", "show", "1", "--json"], env=env, capture_output=True, text=True, check=True)
    result = json.loads(done.stdout)["result"]
    assert result["trials"] == {"total": trials, "ran": trials, "errored": 0}, (home, result["trials"])
    return elapsed


def run_bare(root: Path, trials: int, reuse_actors: bool) -> float:
    script = root / "bare.py"
    reuse = ", reuse_actors=True" if reuse_actors else ""
    script.write_text(textwrap.dedent(BARE_TUNER.format(trials=trials, reuse=reuse)))
    return _timed([sys.executable, str(script), str(root / "results")], dict(os.environ))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    times: dict[str, list[float]] = {"trainaction": [], "default": [], "reuse": []}
    for _ in range(args.repeats):  # interleaved, so drift on a shared machine hits all three alike
        for name in times:
            with tempfile.TemporaryDirectory() as directory:
                root = Path(directory)
                if name == "trainaction":
                    times[name].append(run_trainaction(root, args.trials))
                else:
                    times[name].append(run_bare(root, args.trials, reuse_actors=name == "reuse"))
    ours, default, reuse = (statistics.median(times[k]) for k in ("trainaction", "default", "reuse"))
    print(f"{args.trials} trivial trials, median wall time of {args.repeats} (each a fresh process starting Ray):")
    print(f"  trainaction run:                 {ours:7.2f} s")
    for name, values in times.items():
        print(f"    runs of {name}: {', '.join(f'{v:.2f}' for v in values)} s")
    print(f"  ray.tune.Tuner, Ray's defaults:  {default:7.2f} s   ratio {ours / default:.3f} (target <= 0.2)")
    print(f"  ray.tune.Tuner, reuse_actors:    {reuse:7.2f} s   ratio {ours / reuse:.3f} (target <= 1.15)")


if __name__ == "__main__":
    main()
