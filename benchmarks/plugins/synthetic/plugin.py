"""Branin (2-D) and Hartmann6 (6-D) as a tuning plugin: ``tune()`` reports the function's value.

The job's hyperparameters say which: ``x1``, ``x2`` over Branin's domain, or ``x1`` … ``x6`` over
[0, 1] for Hartmann6. Both are minimised (``"mode": "min"``); ``OPTIMUM`` holds each known minimum,
so that simple regret is the best value found minus it.
"""

from __future__ import annotations

import math
from typing import Any

OPTIMUM = {"branin": 0.397887357729739, "hartmann6": -3.322368011391339}
# name -> (low, high) of each coordinate
DOMAIN = {"branin": [(-5.0, 10.0), (0.0, 15.0)], "hartmann6": [(0.0, 1.0)] * 6}

_ALPHA = (1.0, 1.2, 3.0, 3.2)
_A = (
    (10, 3, 17, 3.5, 1.7, 8),
    (0.05, 10, 17, 0.1, 8, 14),
    (3, 3.5, 1.7, 10, 17, 8),
    (17, 8, 0.05, 10, 0.1, 14),
)
_P = (
    (0.1312, 0.1696, 0.5569, 0.0124, 0.8283, 0.5886),
    (0.2329, 0.4135, 0.8307, 0.3736, 0.1004, 0.9991),
    (0.2348, 0.1451, 0.3522, 0.2883, 0.3047, 0.6650),
    (0.4047, 0.8828, 0.8732, 0.5743, 0.1091, 0.0381),
)


def branin(x: list[float]) -> float:
    x1, x2 = x
    b, c, t = 5.1 / (4 * math.pi**2), 5 / math.pi, 1 / (8 * math.pi)
    return (x2 - b * x1**2 + c * x1 - 6) ** 2 + 10 * (1 - t) * math.cos(x1) + 10


def hartmann6(x: list[float]) -> float:
    return -sum(
        alpha * math.exp(-sum(a * (xi - p) ** 2 for a, xi, p in zip(row, x, prow, strict=True)))
        for alpha, row, prow in zip(_ALPHA, _A, _P, strict=True)
    )


FUNCTIONS = {"branin": branin, "hartmann6": hartmann6}


def function_of(hyperparameter: dict[str, Any]) -> str:
    return "hartmann6" if "x3" in hyperparameter else "branin"


def evaluate(hyperparameter: dict[str, Any]) -> float:
    name = function_of(hyperparameter)
    x = [float(hyperparameter[f"x{i + 1}"]) for i in range(len(DOMAIN[name]))]
    return FUNCTIONS[name](x)


def train(run: Any, dataset: Any, hyperparameter: dict[str, Any], checkpoint: Any, **kwargs: Any) -> None:
    run.log_metric("training", "value", evaluate(hyperparameter))


def tune(hyperparameter: dict[str, Any], run: Any, dataset: Any, checkpoint: Any, **kwargs: Any) -> dict[str, float]:
    return {"value": evaluate(hyperparameter)}
