"""A starter trainaction plugin: fits y = w·x + b by gradient descent on data it makes itself.

train() runs a training job (job.json); tune() runs one trial of a tuning job (tune_job.json), with
the hyperparameters Ray Tune chose for it. Replace fit() with your model; keep the two signatures.
"""

import json
import random
from pathlib import Path


def train(run, dataset, hyperparameter, checkpoint, **kwargs):
    weight, bias = fit(run, hyperparameter, checkpoint)
    run.log_message(f"trained on dataset '{dataset.name}': weight={weight:.3f} bias={bias:.3f}")
    return str(save(run, weight, bias))


def tune(hyperparameter, run, dataset, checkpoint, **kwargs):
    """One trial: the same fit, reporting the loss every epoch so that Ray can compare the trials.

    The trial's model is what it leaves in run.output_dir.
    """
    from ray import tune as ray_tune

    weight, bias = fit(run, hyperparameter, checkpoint, report=lambda epoch, loss: ray_tune.report({"loss": loss}))
    save(run, weight, bias)


def fit(run, hyperparameter, checkpoint, report=None):
    epochs = hyperparameter.get("epochs", 20)
    learning_rate = hyperparameter.get("learning_rate", 0.05)
    weight, bias = 0.0, 0.0
    if checkpoint is not None and (Path(checkpoint.path) / "model.json").exists():  # resume from a model
        saved = json.loads((Path(checkpoint.path) / "model.json").read_text())
        weight, bias = saved["weight"], saved["bias"]

    rng = random.Random(0)
    points = [(x, 3.0 * x + 1.0 + rng.gauss(0, 0.1)) for x in (rng.uniform(-1, 1) for _ in range(200))]
    for epoch in range(epochs):
        grad_w = sum(2 * (weight * x + bias - y) * x for x, y in points) / len(points)
        grad_b = sum(2 * (weight * x + bias - y) for x, y in points) / len(points)
        weight -= learning_rate * grad_w
        bias -= learning_rate * grad_b
        loss = sum((weight * x + bias - y) ** 2 for x, y in points) / len(points)
        run.log_metric("training", "loss", loss, epoch=epoch)
        run.set_progress(epoch + 1, epochs)
        if report is not None:
            report(epoch, loss)
    return weight, bias


def save(run, weight, bias):
    model = Path(run.output_dir) / "model.json"
    model.write_text(json.dumps({"weight": weight, "bias": bias}))
    return model
