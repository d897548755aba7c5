"""One event pump per node of a Ray cluster, for the trials that run away from the driver.

A trial on another node cannot write into the driver's spool folder (nothing assumes a shared
filesystem). It writes the same spool, but under its own node's cache (:func:`node_run_dir`); a
Ray actor pinned to that node runs the same :class:`~trainaction.pump.EventPump` the driver runs,
storing into the team server through the HTTP backend. Why an actor on the node and not a pump
thread in each trial's process: the spool outlives a trial whose worker process is killed, but a
pump inside that process would die with it, and what it had not yet sent would be lost; the node's
pump still reads it. Each batch carries its id, so a retry after a lost answer stores nothing twice.
benchmarks/remote_events.py measures this against forwarding records through an actor on the driver.

The driver starts a pump on every node it sees (:func:`start_node_pumps`); a trial on a node that
joined later starts its node's pump itself (``get_if_exists``). The driver stops them all at the
end (a last drain, then their node folders are removed) and hears their storage failures.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from ..backend import open_backend
from ..progress import ProgressKeeper
from ..pump import EventPump, NullObserver

if TYPE_CHECKING:
    from ..backend.http import HttpBackend

__all__ = [
    "NodePump",
    "http_backend",
    "node_pump",
    "node_run_dir",
    "remote_events_enabled",
    "start_node_pumps",
    "stop_node_pumps",
]

_PREFIX = "trainaction-pump"
_NAMESPACE = "trainaction"


def remote_events_enabled() -> bool:
    """Trials away from the driver report through the team server only when the Ray job's ``runtime_env``
    carries TRAINACTION_BACKEND and TRAINACTION_TOKEN to every node (as jobs sent by `trainaction submit
    --ray-address` do); the driver's own environment alone would not reach the other nodes' workers."""
    import ray

    env_vars = (ray.get_runtime_context().runtime_env or {}).get("env_vars") or {}
    return bool(env_vars.get("TRAINACTION_BACKEND") and env_vars.get("TRAINACTION_TOKEN"))


def http_backend() -> HttpBackend:
    """The team server this node reports to, from the job's environment."""
    from ..backend.http import HttpBackend

    backend = open_backend()
    if not isinstance(backend, HttpBackend):  # remote_events_enabled() was checked by the caller
        raise RuntimeError("a trial away from the driver needs the team server (TRAINACTION_BACKEND)")
    return backend


def node_run_dir(job_id: int) -> Path:
    """This node's work folder for the job: ``runs/<job id>`` in this node's cache of the team server."""
    with http_backend() as backend:
        return backend.cache_dir / "runs" / str(job_id)


class _NoProgress:
    """A trial's progress is stored as its events; the job's own progress belongs to the driver alone."""

    def send(self, record: Any) -> None:
        pass

    def save(self, force: bool = False) -> None:
        pass


class NodePump:
    """The Ray actor (one per job and node) that drains this node's trial spools into the backend."""

    def __init__(self, job_id: int) -> None:
        self._backend = http_backend()
        self._dir = node_run_dir(job_id)
        self._pump = EventPump(
            self._backend,
            job_id,
            self._dir / "spool",
            cast(ProgressKeeper, _NoProgress()),
            NullObserver(),
            lambda record: None,  # a remote trial's model is uploaded from its node by the trial itself
        ).start()

    def ready(self) -> str:
        return str(self._dir)

    def stop(self) -> str | None:
        """The last drain; then the node's folder goes. Returns the storage failure, if any."""
        self._pump.stop()
        shutil.rmtree(self._dir, ignore_errors=True)
        self._backend.close()
        return self._pump.failure_message()


def node_pump(job_id: int, node_id: str) -> Any:
    """The pump actor of ``job_id`` on ``node_id``, started there if it is not running yet."""
    import ray
    from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

    name = f"{_PREFIX}-{job_id}-{node_id}"
    if name not in _handles:
        actor = ray.remote(num_cpus=0, max_restarts=0)(NodePump)
        _handles[name] = actor.options(
            name=name,
            namespace=_NAMESPACE,
            get_if_exists=True,
            scheduling_strategy=NodeAffinitySchedulingStrategy(node_id, soft=False),
        ).remote(job_id)
    return _handles[name]


# Ray ends a named actor that is not detached once no handle to it is left: each process that starts
# or finds a pump keeps its handle here until the job ends (or the process does).
_handles: dict[str, Any] = {}


def start_node_pumps(job_id: int) -> int:
    """A pump on every live node but this one; the number started (0 when trials cannot report remotely)."""
    import ray

    if not remote_events_enabled():
        return 0
    here = ray.get_runtime_context().get_node_id()
    others = [node["NodeID"] for node in ray.nodes() if node["Alive"] and node["NodeID"] != here]
    ray.get([node_pump(job_id, node).ready.remote() for node in others])
    return len(others)


def stop_node_pumps(job_id: int) -> list[str]:
    """Stop every node pump of the job (each drains first); the storage failures they report."""
    import ray

    names = [
        entry["name"]
        for entry in ray.util.list_named_actors(all_namespaces=True)
        if entry["namespace"] == _NAMESPACE and entry["name"].startswith(f"{_PREFIX}-{job_id}-")
    ]
    failures: list[str] = []
    for name in names:
        try:
            handle = ray.get_actor(name, namespace=_NAMESPACE)
            failure = cast("str | None", ray.get(handle.stop.remote()))
            ray.kill(handle)
        except Exception as exc:  # a node lost with its pump: what its trials spooled there is lost with it
            failures.append(f"the event pump on a node of the cluster failed: {type(exc).__name__}: {exc}")
            continue
        if failure:
            failures.append(failure)
    for name in [name for name in _handles if name.startswith(f"{_PREFIX}-{job_id}-")]:
        del _handles[name]
    return failures
