"""Benchmark: how close each search configuration gets to the optimum, through ``trainaction run``.

Branin (2-D) and Hartmann6 (6-D), from ``benchmarks/plugins/synthetic``, are minimised by each
searcher configuration run through the real ``trainaction run`` (a fresh process starting Ray, trials
2 at once), beside the same Optuna sampler driven in-process by Optuna alone (one trial at a time).
Reported: simple regret (best value found minus the known minimum) after 10, 20 and the last trial,
median and quartiles over the seeds, and the median wall time of one search.

Each finished search is appended to ``--out`` (JSON lines) and skipped when the script runs again, so
an interrupted benchmark goes on where it stopped.

Run from the repository root, as a module (run as a script, ``benchmarks/logging.py`` would shadow
the standard library's ``logging``), under ``nice`` on a shared machine:
    nice -n 10 .venv/bin/python -m benchmarks.search_quality [--seeds 10] [--trials 40] \\
        [--configs random,tpe-mv,gp] [--inprocess random,tpe,tpe-indep,tpe-mv,gp] [--pending 1,2] \\
        [--pending-configs tpe-mv] [--out search_quality.jsonl] [--table-only]
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
PLUGIN = HERE / "plugins" / "synthetic"
FUNCTIONS = ("branin", "hartmann6")

# name -> tune_config.search_alg for trainaction, or the sampler for Optuna in-process. "tpe" is
# Optuna's default TPESampler, multivariate for one objective from Optuna 5.0 on, independent (one
# parameter at a time) before; "tpe-mv" and "tpe-indep" say which.
SEARCH_ALGS: dict[str, dict[str, Any]] = {
    "random": {"name": "basicvariantgenerator"},
    "tpe": {"name": "optunasearch"},
    "tpe-mv": {"name": "optunasearch", "options": {"sampler": "tpe", "sampler_options": {"multivariate": True}}},
    "tpe-indep": {"name": "optunasearch", "options": {"sampler": "tpe", "sampler_options": {"multivariate": False}}},
    "gp": {"name": "optunasearch", "options": {"sampler": "gp"}},
    "hyperopt": {"name": "hyperoptsearch"},
}
SAMPLERS: dict[str, tuple[str, dict[str, Any]]] = {
    "random": ("RandomSampler", {}),
    "tpe": ("TPESampler", {}),
    "tpe-mv": ("TPESampler", {"multivariate": True}),
    "tpe-indep": ("TPESampler", {"multivariate": False}),
    "gp": ("GPSampler", {}),
}


def _plugin() -> Any:
    spec = importlib.util.spec_from_file_location("synthetic_plugin", PLUGIN / "plugin.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _job(function: str, config: str, seed: int, trials: int) -> dict[str, Any]:
    domain = _plugin().DOMAIN[function]
    return {
        "action": "train",
        "params": {
            "name": f"{function}-{config}",
            "dataset": 1,
            "is_tune": True,
            "num_cpus": 1,
            "hyperparameters": [
                {"name": f"x{i + 1}", "type": "uniform", "min": low, "max": high}
                for i, (low, high) in enumerate(domain)
            ],
            "tune_config": {
                "metric": "value",
                "mode": "min",
                "num_samples": trials,
                "max_concurrent_trials": 2,
                "seed": seed,
                "search_alg": SEARCH_ALGS[config],
            },
        },
    }


def through_trainaction(function: str, config: str, seed: int, trials: int) -> tuple[list[float], float]:
    """The values of the trials in the order they were created, and the wall time of ``trainaction run``."""
    with tempfile.TemporaryDirectory() as directory:
        root = Path(directory)
        (root / "data").mkdir()
        (root / "job.json").write_text(json.dumps(_job(function, config, seed, trials)))
        env = dict(os.environ, TRAINACTION_HOME=str(root / "home"))
        cli = [sys.executable, "-m", "trainaction"]
        subprocess.run([*cli, "dataset", "add", str(root / "data")], check=True, env=env, capture_output=True)
        start = time.perf_counter()
        subprocess.run(
            [*cli, "run", str(root / "job.json"), "--plugin", str(PLUGIN), "--json"],
            check=True,
            env=env,
            capture_output=True,
        )
        elapsed = time.perf_counter() - start
        done = subprocess.run([*cli, "trials", "1", "--json"], env=env, capture_output=True, text=True, check=True)
    rows = json.loads(done.stdout)["trials"]
    values = [row["value"] for row in rows.values() if row.get("value") is not None]
    assert len(values) == trials, f"{function} {config} seed {seed}: {len(values)} of {trials} trials reported"
    return values, elapsed


def in_process(function: str, config: str, seed: int, trials: int) -> tuple[list[float], float]:
    """The same sampler driven by Optuna alone, one trial at a time."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    plugin = _plugin()
    cls, options = SAMPLERS[config]
    study = optuna.create_study(direction="minimize", sampler=getattr(optuna.samplers, cls)(seed=seed, **options))

    def objective(trial: Any) -> float:
        point = {
            f"x{i + 1}": trial.suggest_float(f"x{i + 1}", low, high)
            for i, (low, high) in enumerate(plugin.DOMAIN[function])
        }
        return float(plugin.FUNCTIONS[function]([point[f"x{i + 1}"] for i in range(len(point))]))

    start = time.perf_counter()
    study.optimize(objective, n_trials=trials)
    return [t.value for t in study.trials], time.perf_counter() - start


def through_searcher(function: str, config: str, seed: int, trials: int, pending: int) -> tuple[list[float], float]:
    """trainaction's searcher for the job, driven in-process with ``pending`` trials out at once: the
    cost of running trials side by side, without Ray or processes."""
    sys.path.insert(0, str(HERE.parent / "tests"))
    from conftest import tuning_params
    from trainaction.tuning.compiler import compile_space
    from trainaction.tuning.searchers import build_searcher

    params = tuning_params(
        *_job(function, config, seed, trials)["params"]["hyperparameters"],
        metric="value",
        mode="min",
        seed=seed,
        num_samples=trials,
        search_alg=SEARCH_ALGS[config],
    )
    plan = compile_space(params.hyperparameters, SEARCH_ALGS[config]["name"])
    searcher = build_searcher(params.tune_config, plan)
    searcher.set_search_properties(None, None, plan.param_space())
    start, out, values = time.perf_counter(), [], []
    plugin = _plugin()
    while len(values) < trials:
        while len(out) < pending and len(values) + len(out) < trials:
            trial_id = f"t{len(values) + len(out)}"
            out.append((trial_id, searcher.suggest(trial_id)))
        trial_id, proposed = out.pop(0)
        values.append(plugin.evaluate(plan.decode(proposed)))
        searcher.on_trial_complete(trial_id, {"value": values[-1]})
    return values, time.perf_counter() - start


def regret_at(values: list[float], count: int, optimum: float) -> float:
    return min(values[:count]) - optimum


def _quartiles(values: list[float]) -> tuple[float, float, float]:
    if len(values) == 1:
        return values[0], values[0], values[0]
    q1, median, q3 = statistics.quantiles(values, n=4, method="inclusive")
    return q1, median, q3


def table(records: list[dict[str, Any]], trials: int) -> str:
    optimum = _plugin().OPTIMUM
    checkpoints = [c for c in (10, 20, trials) if c <= trials]
    checkpoints = list(dict.fromkeys(checkpoints))
    head = ["function", "configuration", "run by", "seeds"] + [f"regret @{c}: median [q1, q3]" for c in checkpoints]
    lines = ["| " + " | ".join(head + ["wall time / search (median)"]) + " |", "|" + " --- |" * (len(head) + 1)]
    groups: dict[tuple[str, str, str], list[dict[str, Any]]] = {}
    for record in records:
        if len(record["values"]) >= trials:
            groups.setdefault((record["function"], record["config"], record["where"]), []).append(record)
    for (function, config, where), runs in sorted(groups.items()):
        cells = [function, config, where, str(len(runs))]
        for count in checkpoints:
            q1, median, q3 = _quartiles([regret_at(r["values"], count, optimum[function]) for r in runs])
            cells.append(f"{median:.3f} [{q1:.3f}, {q3:.3f}]")
        cells.append(f"{statistics.median(r['seconds'] for r in runs):.1f} s")
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--trials", type=int, default=40)
    parser.add_argument("--configs", default="random,tpe-mv,gp", help=f"through trainaction: {', '.join(SEARCH_ALGS)}")
    parser.add_argument(
        "--inprocess", default="random,tpe,tpe-indep,tpe-mv,gp", help=f"Optuna alone: {', '.join(SAMPLERS)}"
    )
    parser.add_argument("--functions", default=",".join(FUNCTIONS))
    parser.add_argument(
        "--pending",
        default="",
        help="also drive trainaction's searcher in-process with these many trials out at once (e.g. 1,2)",
    )
    parser.add_argument("--pending-configs", default="tpe-mv", help="the configurations --pending drives")
    parser.add_argument("--out", type=Path, default=Path("search_quality.jsonl"))
    parser.add_argument("--table-only", action="store_true", help="print the table of --out and run nothing")
    args = parser.parse_args()
    records = [json.loads(line) for line in args.out.read_text().splitlines()] if args.out.exists() else []
    done = {(r["function"], r["config"], r["where"], r["seed"], len(r["values"])) for r in records}
    plan = [
        (where, config)
        for where, names in (("optuna", args.inprocess), ("trainaction", args.configs))
        for config in names.split(",")
        if config
    ]
    plan += [
        (f"searcher, {count} at once", config)
        for count in args.pending.split(",")
        if count
        for config in args.pending_configs.split(",")
    ]
    for seed in range(args.seeds) if not args.table_only else []:  # seed-major: every configuration advances
        for function in args.functions.split(","):
            for where, config in plan:
                if (function, config, where, seed, args.trials) in done:
                    continue
                if where.startswith("searcher"):
                    values, seconds = through_searcher(function, config, seed, args.trials, int(where.split()[1]))
                else:
                    runner = through_trainaction if where == "trainaction" else in_process
                    values, seconds = runner(function, config, seed, args.trials)
                record = {"function": function, "config": config, "where": where, "seed": seed}
                records.append({**record, "values": values, "seconds": seconds})
                with args.out.open("a") as out:
                    out.write(json.dumps(records[-1]) + "\n")
                regret = regret_at(values, args.trials, _plugin().OPTIMUM[function])
                print(f"{function} {config:8} {where:11} seed {seed}: regret {regret:.4f}, {seconds:.1f} s", flush=True)
    print(table(records, args.trials))


if __name__ == "__main__":
    main()
