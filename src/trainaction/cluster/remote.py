"""Where a trial runs, and what a trial away from the driver does differently.

A trial on the driver's node (or on any node when the job has no team server to report to) uses the
driver's run folder as before. A trial on another node uses its own node's folder for its spool and
output (drained by the node's pump, :mod:`.nodepump`), gets the dataset and the job's checkpoint from
the backend's artifact store into its node's cache (each file checked by sha256, downloaded once per
node, shared by that node's trials), and uploads its model from its node when it ends.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..resources import Checkpoint, Dataset

__all__ = ["NODE_IP_KEY", "NODE_KEY", "TrialPlace", "localize", "trial_place", "upload_model"]

# Added to each result the trial reports: the driver's trials table reads the trial's node from them.
NODE_KEY = "trainaction_node"
NODE_IP_KEY = "trainaction_node_ip"


@dataclass(frozen=True)
class TrialPlace:
    node: str  # the Ray node id of the trial's worker
    remote: bool  # away from the driver's node, reporting through its node's pump
    spool_root: Path
    trials_dir: Path


def this_node() -> str:
    import ray

    return str(ray.get_runtime_context().get_node_id())


def this_node_ip() -> str:
    """The address this node joined the cluster with, as the cluster records it (Ray's ``node_ip`` result
    key is the machine's first address instead: wrong for a node started with --node-ip-address)."""
    import ray

    node = this_node()
    for entry in ray.nodes():
        if entry["NodeID"] == node:
            return str(entry["NodeManagerAddress"])
    return str(ray.util.get_node_ip_address())


def trial_place(spec: dict[str, Any]) -> TrialPlace:
    """The trial's folders: the driver's, or (away from the driver, with a team server) its node's own."""
    from .nodepump import node_pump, node_run_dir

    node = this_node()
    if node == spec["driver_node"] or not spec["remote_events"]:
        return TrialPlace(node, False, Path(spec["spool_root"]), Path(spec["trials_dir"]))
    node_pump(spec["job_id"], node)  # this node's pump, should it have joined after the driver started the others
    folder = node_run_dir(spec["job_id"])
    return TrialPlace(node, True, folder / "spool", folder / "trials")


def localize(spec: dict[str, Any]) -> tuple[Dataset, Checkpoint | None]:
    """The dataset and the job's checkpoint as files on this node, from the backend's artifact store."""
    from .nodepump import http_backend

    dataset = Dataset.from_dict(spec["dataset"])
    checkpoint = Checkpoint.from_dict(spec["checkpoint"]) if spec["checkpoint"] else None
    with http_backend() as backend:
        dataset = dataclasses.replace(dataset, path=backend.dataset_path(dataset.id))
        if checkpoint is not None and checkpoint.id is not None:
            # Read only, as the driver's private copy is not: the plugin must not write into its checkpoint.
            checkpoint = dataclasses.replace(checkpoint, path=backend.model_path(checkpoint.id))
    return dataset, checkpoint


def upload_model(
    spec: dict[str, Any], trial_id: str, source: Path, config: dict[str, Any], metrics: dict[str, Any]
) -> int:
    """Upload the trial's model from this node, named as the driver names the models it uploads."""
    from .nodepump import http_backend

    with http_backend() as backend:
        model = backend.add_model(
            f"{spec['model_prefix']}-trial-{trial_id}",
            source,
            job_id=spec["job_id"],
            trial_id=trial_id,
            config=config,
            metrics=metrics,
        )
    return int(model.id)
