"""A trainaction plugin that trains a small PyTorch MLP on scikit-learn's 8x8 handwritten digits.

The dataset is a folder holding ``digits.npz`` (``images`` float32 (N, 64) in [0, 1], ``labels``
int64), as written by ``prepare_data.py``. Every epoch logs training and validation loss and
accuracy; the end of training logs a confusion matrix of the validation set as an image.
The model folder (``model.pt`` state dict + ``config.json``) is returned for upload, and a later
job can pass it back as ``checkpoint`` to continue training from those weights.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image, ImageDraw, ImageFont
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

DEFAULTS: dict[str, Any] = {
    "epochs": 20,
    "batch_size": 32,
    "learning_rate": 0.001,
    "optimizer": "adam",
    "weight_decay": 0.0,
    "dropout_rate": 0.1,
    "hidden_size": 256,
    "seed": 0,
    "log_every_step": False,
}
OPTIMIZERS = ("adam", "sgd", "rmsprop")
INPUT_SIZE = 64
NUM_CLASSES = 10
VALIDATION_FRACTION = 0.2
# Fixed, not the "seed" hyperparameter: a resumed or re-seeded run must validate on the same
# images, or the checkpoint would already have trained on part of its validation set.
SPLIT_SEED = 0


def train(run, dataset, hyperparameter, checkpoint, **kwargs):
    """Train the MLP and return the folder holding ``model.pt`` and ``config.json``."""
    config = resolve_hyperparameters(hyperparameter)
    model, val_images, val_labels = fit(run, dataset, config, checkpoint)

    _, val_acc, predictions = evaluate(model, val_images, val_labels, nn.CrossEntropyLoss())
    matrix = confusion_matrix(val_labels.numpy(), predictions.numpy())
    run.log_visualization("confusion_matrix", "validation", config["epochs"] - 1, draw_confusion_matrix(matrix))
    run.log_message(f"validation accuracy {val_acc:.4f} on {len(val_labels)} images after {config['epochs']} epoch(s)")
    return str(save_model(model, config, Path(run.output_dir) / "model", checkpoint))


def tune(hyperparameter, run, dataset, checkpoint, **kwargs):
    """One tuning trial: report every epoch, with a checkpoint, so schedulers can compare and stop trials.

    A trial Ray restarts (a paused trial, a retry, a PBT exploit that copies a better trial) gets that
    checkpoint as ``checkpoint`` (with ``id`` None): training goes on from its weights and its epoch.
    """
    from ray import tune as ray_tune

    config = resolve_hyperparameters(hyperparameter)
    run.checkpoint_output = str(Path(run.output_dir) / "model")
    start_epoch = 0
    if checkpoint is not None and checkpoint.id is None:
        start_epoch = saved_epoch(Path(checkpoint.path)) + 1

    def report(epoch: int, model: nn.Module, metrics: dict[str, float]) -> None:
        save_model(model, config, Path(run.checkpoint_output), checkpoint, epoch=epoch)
        ray_tune.report(
            {**metrics, "epoch": epoch}, checkpoint=ray_tune.Checkpoint.from_directory(run.checkpoint_output)
        )

    fit(run, dataset, config, checkpoint, on_epoch=report, start_epoch=start_epoch)


def fit(
    run: Any,
    dataset: Any,
    config: dict[str, Any],
    checkpoint: Any,
    on_epoch: Callable[[int, nn.Module, dict[str, float]], None] | None = None,
    start_epoch: int = 0,
) -> tuple[nn.Module, torch.Tensor, torch.Tensor]:
    """The training loop both modes share; returns the model and the validation set.

    ``start_epoch`` > 0 continues a run from its checkpoint: the remaining epochs, same numbering.
    """
    torch.set_num_threads(min(2, torch.get_num_threads()))
    torch.manual_seed(config["seed"])

    images, labels = load_arrays(Path(dataset.path) / "digits.npz")
    train_idx, val_idx = stratified_split(labels, VALIDATION_FRACTION, SPLIT_SEED)
    train_set = TensorDataset(torch.from_numpy(images[train_idx]), torch.from_numpy(labels[train_idx]))
    val_images, val_labels = torch.from_numpy(images[val_idx]), torch.from_numpy(labels[val_idx])
    loader = DataLoader(
        train_set,
        batch_size=config["batch_size"],
        shuffle=True,
        generator=torch.Generator().manual_seed(config["seed"]),
    )

    if checkpoint is not None:
        model = load_checkpoint(Path(checkpoint.path), config)
        run.log_message(
            f"resumed from checkpoint {checkpoint.id} '{checkpoint.name}' (hidden_size={config['hidden_size']})"
        )
    else:
        model = build_model(config["hidden_size"], config["dropout_rate"])
    optimizer = make_optimizer(model, config)
    loss_fn = nn.CrossEntropyLoss()

    epochs = config["epochs"]
    step = 0
    for epoch in range(start_epoch, epochs):

        def log_step(loss: float, epoch: int = epoch) -> None:
            nonlocal step
            run.log_metric("training", "step_loss", loss, epoch=epoch, step=step)
            step += 1

        train_loss, train_acc = train_epoch(
            model, loader, optimizer, loss_fn, log_step if config["log_every_step"] else None
        )
        val_loss, val_acc, _ = evaluate(model, val_images, val_labels, loss_fn)
        run.log_metric("training", "loss", train_loss, epoch=epoch)
        run.log_metric("training", "accuracy", train_acc, epoch=epoch)
        run.log_metric("validation", "loss", val_loss, epoch=epoch)
        run.log_metric("validation", "accuracy", val_acc, epoch=epoch)
        run.set_progress(epoch + 1, epochs)
        if on_epoch is not None:
            on_epoch(
                epoch, model, {"validation_accuracy": val_acc, "validation_loss": val_loss, "training_loss": train_loss}
            )
    return model, val_images, val_labels


def resolve_hyperparameters(hyperparameter: dict[str, Any] | None) -> dict[str, Any]:
    """Fill in defaults, coerce types and check the optimizer name."""
    given = {**DEFAULTS, **(hyperparameter or {})}
    config = {
        "epochs": int(given["epochs"]),
        "batch_size": int(given["batch_size"]),
        "learning_rate": float(given["learning_rate"]),
        "optimizer": str(given["optimizer"]).lower(),
        "weight_decay": float(given["weight_decay"]),
        "dropout_rate": float(given["dropout_rate"]),
        "hidden_size": int(given["hidden_size"]),
        "seed": int(given["seed"]),
        "log_every_step": bool(given["log_every_step"]),
    }
    if config["optimizer"] not in OPTIMIZERS:
        raise ValueError(f"unknown optimizer '{given['optimizer']}'; allowed values: {', '.join(OPTIMIZERS)}")
    return config


def load_arrays(path: Path) -> tuple[np.ndarray, np.ndarray]:
    if not path.is_file():
        raise FileNotFoundError(f"{path} not found; create it with: python examples/digits/prepare_data.py FOLDER")
    with np.load(path) as data:
        return data["images"].astype(np.float32), data["labels"].astype(np.int64)


def stratified_split(labels: np.ndarray, fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Indices for train and validation, holding out ``fraction`` of every class."""
    rng = np.random.default_rng(seed)
    train_parts, val_parts = [], []
    for label in np.unique(labels):
        members = rng.permutation(np.flatnonzero(labels == label))
        cut = round(len(members) * fraction)
        val_parts.append(members[:cut])
        train_parts.append(members[cut:])
    return np.sort(np.concatenate(train_parts)), np.sort(np.concatenate(val_parts))


def build_model(hidden_size: int, dropout_rate: float) -> nn.Module:
    return nn.Sequential(
        nn.Linear(INPUT_SIZE, hidden_size),
        nn.ReLU(),
        nn.Dropout(dropout_rate),
        nn.Linear(hidden_size, NUM_CLASSES),
    )


def load_checkpoint(folder: Path, config: dict[str, Any]) -> nn.Module:
    """Rebuild the checkpoint's architecture and load its weights; updates ``config['hidden_size']``."""
    saved = json.loads((folder / "config.json").read_text(encoding="utf-8"))
    config["hidden_size"] = int(saved["hidden_size"])
    model = build_model(config["hidden_size"], config["dropout_rate"])
    model.load_state_dict(torch.load(folder / "model.pt", map_location="cpu", weights_only=True))
    return model


def make_optimizer(model: nn.Module, config: dict[str, Any]) -> torch.optim.Optimizer:
    params, lr, decay = model.parameters(), config["learning_rate"], config["weight_decay"]
    if config["optimizer"] == "adam":
        return torch.optim.Adam(params, lr=lr, weight_decay=decay)
    if config["optimizer"] == "rmsprop":
        return torch.optim.RMSprop(params, lr=lr, weight_decay=decay)
    # Plain SGD barely moves at the small learning rates that suit Adam; momentum makes it usable.
    return torch.optim.SGD(params, lr=lr, momentum=0.9, weight_decay=decay)


def train_epoch(
    model: nn.Module,
    loader: DataLoader,
    optimizer: torch.optim.Optimizer,
    loss_fn: nn.Module,
    on_step: Callable[[float], None] | None = None,
) -> tuple[float, float]:
    """One pass over the training data; returns its mean loss and accuracy. ``on_step`` gets each batch's loss."""
    model.train()
    total_loss, correct, seen = 0.0, 0, 0
    for inputs, targets in loader:
        optimizer.zero_grad()
        logits = model(inputs)
        loss = loss_fn(logits, targets)
        loss.backward()
        optimizer.step()
        batch_loss = loss.item()
        if on_step is not None:
            on_step(batch_loss)
        total_loss += batch_loss * len(targets)
        correct += (logits.argmax(dim=1) == targets).sum().item()
        seen += len(targets)
    return total_loss / seen, correct / seen


@torch.no_grad()
def evaluate(
    model: nn.Module, images: torch.Tensor, labels: torch.Tensor, loss_fn: nn.Module
) -> tuple[float, float, torch.Tensor]:
    """Loss, accuracy and predicted labels on a held-out set, in one batch."""
    model.eval()
    logits = model(images)
    predictions = logits.argmax(dim=1)
    return loss_fn(logits, labels).item(), (predictions == labels).float().mean().item(), predictions


def confusion_matrix(true: np.ndarray, predicted: np.ndarray) -> np.ndarray:
    """``matrix[t, p]`` counts images of digit ``t`` predicted as ``p``."""
    return np.bincount(true * NUM_CLASSES + predicted, minlength=NUM_CLASSES**2).reshape(NUM_CLASSES, NUM_CLASSES)


def draw_confusion_matrix(matrix: np.ndarray, cell: int = 32) -> Image.Image:
    """A heatmap of ``matrix`` with the count in each cell: rows are true digits, columns predictions."""
    font = ImageFont.load_default()
    size = len(matrix)
    left, top, margin = 56, 52, 12
    image = Image.new("RGB", (left + size * cell + margin, top + size * cell + margin), "white")
    draw = ImageDraw.Draw(image)
    peak = max(int(matrix.max()), 1)

    for t in range(size):
        for p in range(size):
            # Square root, so that the few off-diagonal mistakes still show next to a full diagonal.
            shade = (matrix[t, p] / peak) ** 0.5
            colour = tuple(int(255 - shade * (255 - c)) for c in (8, 48, 107))  # white to dark blue
            x, y = left + p * cell, top + t * cell
            draw.rectangle((x, y, x + cell - 1, y + cell - 1), fill=colour, outline=(220, 220, 220))
            _centred_text(
                draw, (x + cell / 2, y + cell / 2), str(matrix[t, p]), font, "white" if shade > 0.5 else "black"
            )

    for i in range(size):
        _centred_text(draw, (left + i * cell + cell / 2, top - 10), str(i), font, "black")
        _centred_text(draw, (left - 10, top + i * cell + cell / 2), str(i), font, "black")
    _centred_text(draw, (left + size * cell / 2, 14), "predicted", font, "black")
    _centred_text(draw, (20, top + size * cell / 2), "true", font, "black")
    return image


def _centred_text(draw: ImageDraw.ImageDraw, centre: tuple[float, float], text: str, font: Any, fill: Any) -> None:
    # textbbox rather than anchor="mm": the bitmap fallback font has no anchor support.
    x0, y0, x1, y1 = draw.textbbox((0, 0), text, font=font)
    draw.text((centre[0] - (x0 + x1) / 2, centre[1] - (y0 + y1) / 2), text, font=font, fill=fill)


def saved_epoch(folder: Path) -> int:
    """The last epoch trained into a checkpoint written by :func:`save_model` (-1 if it does not say)."""
    saved = json.loads((folder / "config.json").read_text(encoding="utf-8"))
    return int(saved.get("epoch", -1))


def save_model(
    model: nn.Module, config: dict[str, Any], folder: Path, checkpoint: Any, epoch: int | None = None
) -> Path:
    """Write ``model.pt`` (the state dict) and ``config.json`` into ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    torch.save(model.state_dict(), folder / "model.pt")
    saved = {
        "hyperparameter": config,
        "input_size": INPUT_SIZE,
        "hidden_size": config["hidden_size"],
        "num_classes": NUM_CLASSES,
        "resumed_from": None if checkpoint is None else checkpoint.id,
        "epoch": config["epochs"] - 1 if epoch is None else epoch,
    }
    (folder / "config.json").write_text(json.dumps(saved, indent=2), encoding="utf-8")
    return folder
