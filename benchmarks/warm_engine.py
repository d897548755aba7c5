"""Benchmark: a 16-trial trivial tuning job on the server's warm engine vs the same search as a cold
bare-Ray script.

Warm: a real ``trainaction server --workers 1`` on a temporary home; one job first (its worker starts
Ray, once); then each measured job is submitted (``submit_job`` on the home, the call ``trainaction
submit`` makes) and timed until it reads SUCCEEDED — its trials, events, trials table and result
all stored. Cold: a fresh Python process running ``ray.init`` + ``Tuner(reuse_actors=True).fit()``
of the same 16 trials + ``ray.shutdown()``, timed from its start to its exit. Both Rays have the
worker's CPUs (this machine's count, for one worker). Alternated, median of N; target warm <= 0.5x cold.

Run (from the repository root): .venv/bin/python benchmarks/warm_engine.py [--repeats N] [--trials 16]
"""

from __future__ import annotations

import sys
from pathlib import Path

# benchmarks/logging.py would shadow the standard library's logging: keep this folder off sys.path.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

import argparse  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import textwrap  # noqa: E402
import time  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))

PLUGIN = """
def train(run, dataset, hyperparameter, checkpoint, **kwargs):
    pass

def tune(hyperparameter, run, dataset, checkpoint, **kwargs):
    from ray import tune
    tune.report({"score": hyperparameter["x"]})
"""

COLD = """
import time
started = time.perf_counter()
import ray
from ray import tune

def trainable(config):
    tune.report({{"score": config["x"]}})

ray.init(num_cpus={cpus}, include_dashboard=False, log_to_driver=False, configure_logging=False)
tuner = tune.Tuner(
    tune.with_resources(trainable, {{"cpu": 0.5}}),
    param_space={{"x": tune.grid_search(list(range({trials})))}},
    tune_config=tune.TuneConfig(metric="score", mode="max", reuse_actors=True),
    run_config=tune.RunConfig(storage_path="{storage}", verbose=0),
)
assert len(tuner.fit()) == {trials}
ray.shutdown()
"""


def _document(trials: int) -> dict[str, object]:
    return {
        "action": "train",
        "params": {
            "name": "warm",
            "dataset": 1,
            "is_tune": True,
            "num_cpus": 0.5,
            "hyperparameters": [{"name": "x", "type": "grid_search", "options": list(range(trials))}],
            "tune_config": {"metric": "score", "mode": "max"},
        },
    }


def _warm_once(home: Path, plugin: bytes, trials: int) -> float:
    from trainaction.backend import LocalBackend
    from trainaction.validation import parse_job

    backend = LocalBackend(home)
    job = parse_job(_document(trials)).job
    started = time.perf_counter()
    record = backend.submit_job(
        "train", job.to_document()["params"], job.params.encoded_name, job.params.name, plugin=plugin, executor="server"
    )
    while (status := backend.get_job(record.id).status) not in ("SUCCEEDED", "FAILED", "STOPPED"):
        time.sleep(0.05)
    elapsed = time.perf_counter() - started
    if status != "SUCCEEDED":
        raise SystemExit(f"job {record.id} {status}: {backend.get_job(record.id).error}")
    return elapsed


def _cold_once(root: Path, trials: int, cpus: int) -> float:
    storage = tempfile.mkdtemp(dir=root)
    script = textwrap.dedent(COLD).format(cpus=cpus, trials=trials, storage=storage)
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", script], check=True, capture_output=True)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--trials", type=int, default=16)
    args = parser.parse_args()

    from servers import ServerProcess
    from trainaction.backend import LocalBackend
    from trainaction.submission import pack_plugin

    cpus = os.cpu_count() or 1  # what one worker's Ray gets (Executor.ray_cpus)
    with tempfile.TemporaryDirectory() as directory:
        root = Path(directory)
        home = root / "home"
        (root / "data").mkdir()
        (root / "plugin").mkdir()
        (root / "plugin" / "plugin.py").write_text(PLUGIN)
        LocalBackend(home).add_dataset(root / "data", "data")
        plugin = pack_plugin(root / "plugin")
        with ServerProcess(home, args=("--workers", "1")):
            first = _warm_once(home, plugin, args.trials)  # the worker starts its Ray here
            warm, cold = [], []
            for _ in range(args.repeats):
                warm.append(_warm_once(home, plugin, args.trials))
                cold.append(_cold_once(root, args.trials, cpus))
    w, c = statistics.median(warm), statistics.median(cold)
    print(
        json.dumps(
            {
                "trials": args.trials,
                "cpus": cpus,
                "first_job_s": round(first, 3),
                "warm_s": [round(x, 3) for x in warm],
                "cold_s": [round(x, 3) for x in cold],
                "warm_median_s": round(w, 3),
                "cold_median_s": round(c, 3),
                "ratio": round(w / c, 3),
                "target": "ratio <= 0.5",
                "load": os.getloadavg()[0],
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
