"""A real multi-node Ray cluster on this machine for the tests: a head and worker nodes,
each a ``ray start --block`` process in its own process group (so one node can be killed,
by process-group id, without touching the others), with its own temp dir, a small object
store, one CPU per worker node (none on the head), and a per-cluster auth token. Nothing
here touches another Ray instance."""

from __future__ import annotations

import contextlib
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

START_SECONDS = 180.0
OBJECT_STORE_BYTES = 100 * 1024 * 1024
RAY_BIN = str(Path(sys.executable).with_name("ray"))


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Node:
    proc: subprocess.Popen[bytes]
    log: Path

    def kill(self) -> None:
        """End the node's processes (raylet, its workers; on the head, the GCS) at once."""
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=30)


@dataclass
class LocalCluster:
    root: Path
    env: dict[str, str]
    port: int = field(default_factory=free_port)
    nodes: list[Node] = field(default_factory=list)

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def _start(self, name: str, cpus: int, args: list[str]) -> Node:
        log = self.root / f"{name}.log"
        with log.open("wb") as fh:
            proc = subprocess.Popen(
                [RAY_BIN, "start", "--block", "--num-cpus", str(cpus), "--disable-usage-stats",
                 "--object-store-memory", str(OBJECT_STORE_BYTES), *args],
                stdout=fh, stderr=subprocess.STDOUT, env=self.env, start_new_session=True,
            )  # fmt: skip
        node = Node(proc, log)
        self.nodes.append(node)
        return node

    def start_head(self) -> None:
        # No CPU on the head: engine actors and replicas land on worker nodes, so killing a
        # worker node always kills one of them.
        self._start(
            "head",
            0,
            ["--head", "--port", str(self.port), "--node-ip-address", "127.0.0.1",
             "--include-dashboard", "false", "--temp-dir", str(self.root / "tmp"),
             "--ray-client-server-port", str(free_port())],
        )  # fmt: skip
        self.connect()
        self.wait_nodes(1)

    def add_worker(self) -> Node:
        node = self._start(f"worker{len(self.nodes)}", 1, ["--address", self.address])
        # Count node processes, not Ray's view: a just-killed node stays "alive" in Ray until
        # its heartbeats time out.
        self.wait_nodes(sum(1 for n in self.nodes if n.proc.poll() is None))
        return node

    def alive_nodes(self) -> int:
        import ray

        return sum(1 for n in ray.nodes() if n["Alive"])

    def connect(self) -> None:
        """Connect this (the test) process as a driver, once the head's port answers."""
        import ray

        deadline = time.monotonic() + START_SECONDS
        while True:
            head = self.nodes[0]
            if head.proc.poll() is not None:
                raise AssertionError(f"the Ray head exited:\n{head.log.read_text()[-3000:]}")
            if time.monotonic() > deadline:
                raise AssertionError(f"the Ray head did not listen in {START_SECONDS} s")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.5)
        ray.init(address=self.address, log_to_driver=False)

    def wait_nodes(self, n: int) -> None:
        deadline = time.monotonic() + START_SECONDS
        while time.monotonic() < deadline:
            if any(node.proc.poll() is not None for node in self.nodes[-1:]):
                raise AssertionError(f"ray start exited:\n{self.nodes[-1].log.read_text()}")
            if self.alive_nodes() >= n:
                return
            time.sleep(1)
        raise AssertionError(f"the Ray cluster did not reach {n} nodes in {START_SECONDS} s")

    def stop(self) -> None:
        for node in reversed(self.nodes):
            node.kill()


def cluster_env(tests_dir: Path, src_dir: Path) -> dict[str, str]:
    """What the nodes and drivers run with: this worktree's nerve, the tests' modules
    (functions a test pipeline ships are pickled by reference), and an auth token."""
    path = [str(src_dir), str(tests_dir), str(tests_dir / "ray")]
    if os.environ.get("PYTHONPATH"):
        path.append(os.environ["PYTHONPATH"])
    return {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(path),
        "RAY_AUTH_MODE": "token",
        "RAY_AUTH_TOKEN": secrets.token_hex(32),
        "RAY_USAGE_STATS_ENABLED": "0",
        # On a busy 2-core machine a raylet can take longer than the default 30 s to register.
        "RAY_raylet_start_wait_time_s": "180",
    }
