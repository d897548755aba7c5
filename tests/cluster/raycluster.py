"""A 2-node Ray cluster on this machine for tests: ``ray start --head`` and ``ray start --address``.

Each node is a ``ray start --block`` process of ours, with its own temporary folder and its own HOME,
TRAINACTION_HOME and TRAINACTION_CACHE, so that a trial relying on the driver's folders fails. Ending
that process (SIGTERM) makes Ray stop the processes it started for the node; no ``ray stop``, which
would stop every Ray of this machine.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from servers import free_port

__all__ = ["RayCluster", "RayNode"]

_BIN = Path(sys.executable).parent


@dataclass
class RayNode:
    role: str
    root: Path  # HOME, TRAINACTION_HOME, TRAINACTION_CACHE and Ray's temp folder live under it
    process: subprocess.Popen[bytes] | None = None

    @property
    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("RAY_", "TRAINACTION_"))}
        return {
            **env,
            "PATH": f"{_BIN}{os.pathsep}{env.get('PATH', '')}",  # the job's `python` is this environment's
            "HOME": str(self.root / "home"),
            "TRAINACTION_HOME": str(self.root / "trainaction"),
            "TRAINACTION_CACHE": str(self.root / "cache"),
            "TEST_NODE_ROLE": self.role,
            # Where the tests' plugins meet across nodes (test coordination only; nothing of trainaction's).
            "TEST_RENDEZVOUS": str(self.root.parent / "rendezvous"),
            "RAY_USAGE_STATS_ENABLED": "0",
        }

    @property
    def cache(self) -> Path:
        return self.root / "cache"


@dataclass
class RayCluster:
    head: RayNode
    worker: RayNode
    gcs_port: int = field(default_factory=free_port)
    dashboard_port: int = field(default_factory=free_port)

    @classmethod
    def create(cls) -> RayCluster:
        # Short paths: Ray's socket paths under its temp folder must fit in 107 characters.
        base = Path(tempfile.mkdtemp(prefix="ta-ray-"))
        return cls(RayNode("head", base / "h"), RayNode("worker", base / "w"))

    @property
    def dashboard(self) -> str:
        return f"http://127.0.0.1:{self.dashboard_port}"

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.gcs_port}"

    def start(self, timeout: float = 120) -> RayCluster:
        self.head.process = self._start(
            self.head,
            "--head",
            f"--port={self.gcs_port}",
            "--include-dashboard=true",
            "--dashboard-host=127.0.0.1",
            f"--dashboard-port={self.dashboard_port}",
            f"--ray-client-server-port={free_port()}",
            f"--dashboard-agent-listen-port={free_port()}",
        )
        self._wait_for_nodes(1, timeout)
        self.worker.process = self._start(
            self.worker, f"--address={self.address}", f"--dashboard-agent-listen-port={free_port()}"
        )
        self._wait_for_nodes(2, timeout)
        self._wait_for_jobs_api(timeout)
        return self

    def _start(self, node: RayNode, *args: str) -> subprocess.Popen[bytes]:
        for folder in ("home", "trainaction", "cache", "tmp", "../rendezvous"):
            (node.root / folder).mkdir(parents=True, exist_ok=True)
        command = [str(_BIN / "ray"), "start", "--block", "--num-cpus=1", "--num-gpus=0"]
        command += ["--node-ip-address=127.0.0.1", f"--temp-dir={node.root / 'tmp'}", "--disable-usage-stats", *args]
        with open(node.root / "ray-start.log", "ab") as log:  # the child keeps its own descriptor
            return subprocess.Popen(command, env=node.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)

    def _wait_for_nodes(self, count: int, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        probe = f"import ray; ray.init(address='{self.address}', logging_level='ERROR'); print(sum(n['Alive'] for n in ray.nodes()))"
        while time.monotonic() < deadline:
            for node in (self.head, self.worker):
                if node.process is not None and node.process.poll() is not None:
                    raise RuntimeError(
                        f"ray start ({node.role}) exited: {(node.root / 'ray-start.log').read_text()[-2000:]}"
                    )
            done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, env=self.head.env)
            if done.returncode == 0 and done.stdout.strip().splitlines()[-1:] == [str(count)]:
                return
            time.sleep(0.5)
        raise TimeoutError(f"the Ray cluster did not reach {count} node(s) in {timeout:.0f} s")

    def _wait_for_jobs_api(self, timeout: float) -> None:
        import httpx

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.dashboard}/api/version", timeout=2).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.5)
        raise TimeoutError(f"the Ray Jobs API at {self.dashboard} did not answer in {timeout:.0f} s")

    def stop(self) -> None:
        """End both ``ray start --block`` processes (worker first); Ray stops what each started."""
        for node in (self.worker, self.head):
            if node.process is not None and node.process.poll() is None:
                node.process.send_signal(signal.SIGTERM)
                try:
                    node.process.wait(60)
                except subprocess.TimeoutExpired:
                    os.killpg(node.process.pid, signal.SIGKILL)
                    node.process.wait(30)

    def leftover_pids(self) -> list[int]:
        """Processes still running with this cluster's folders on their command line (none, when stopped)."""
        roots = (str(self.head.root).encode(), str(self.worker.root).encode())
        left = []
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                cmdline = (entry / "cmdline").read_bytes()
            except OSError:
                continue  # ended meanwhile
            if any(root in cmdline for root in roots):
                left.append(int(entry.name))
        return left
