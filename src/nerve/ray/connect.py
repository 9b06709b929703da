"""Connect to Ray (a local instance, ``auto`` or an address) with a bounded wait, and check
the cluster can host the requested workers before any work starts."""

from __future__ import annotations

import socket
import threading
from typing import Any

from ..errors import MissingExtra, NerveError

# A local instance (``--ray`` with no address) gets a small object store: shards are small
# and this keeps Ray from reserving a third of the machine's memory.
LOCAL_OBJECT_STORE_BYTES = 512 * 1024 * 1024


class RayUnavailable(NerveError):
    code = "ray_unavailable"


def import_ray() -> Any:
    try:
        import ray
    except ImportError:
        raise MissingExtra("ray", "ray", "running on Ray") from None
    return ray


def _host_port(address: str) -> tuple[str, int] | None:
    rest = address.split("://", 1)[1] if "://" in address else address
    host, sep, port = rest.rpartition(":")
    if not sep or not port.isdigit():
        return None
    return host.strip("[]"), int(port)


def _check_answers(address: str, timeout: float) -> None:
    target = _host_port(address)
    if target is None:
        raise RayUnavailable(f"--ray {address}: expected auto, HOST:PORT or ray://HOST:PORT")
    try:
        with socket.create_connection(target, timeout=timeout):
            pass
    except OSError as exc:
        raise RayUnavailable(
            f"no Ray cluster answers at {address} (within {timeout:g} s: {exc}); "
            "check the address, or raise --ray-timeout"
        ) from None


def connect(address: str | None, timeout: float) -> Any:
    """``ray.init`` for ``address`` (None: start a local instance), waiting at most
    ``timeout`` seconds; a cluster that does not answer is an error, never a hang."""
    ray = import_ray()
    if ray.is_initialized():
        return ray
    if address not in (None, "auto", "local"):
        _check_answers(address, timeout)
    kwargs: dict[str, Any] = {"log_to_driver": False, "configure_logging": False}
    if address in (None, "local"):
        kwargs.update(include_dashboard=False, object_store_memory=LOCAL_OBJECT_STORE_BYTES)
    else:
        kwargs["address"] = address
    failure: list[BaseException] = []

    def init() -> None:
        try:
            ray.init(**kwargs)
        except BaseException as exc:  # reported below, in the caller's thread
            failure.append(exc)

    thread = threading.Thread(target=init, daemon=True)
    thread.start()
    thread.join(timeout if address not in (None, "local") else max(timeout, 120.0))
    if thread.is_alive():
        raise RayUnavailable(
            f"Ray at {address or 'a local instance'} did not finish connecting within "
            f"{timeout:g} s; check the cluster, or raise --ray-timeout"
        )
    if failure:
        raise RayUnavailable(f"cannot connect to Ray at {address}: {failure[0]}") from None
    return ray


def check_resources(ray: Any, cpus_per_worker: float, gpus_per_worker: float) -> None:
    nodes = [n for n in ray.nodes() if n.get("Alive")]
    if gpus_per_worker > 0:
        gpus = max((n["Resources"].get("GPU", 0) for n in nodes), default=0)
        if gpus == 0:
            raise NerveError(f"--gpus-per-worker {gpus_per_worker:g}: the Ray cluster has no GPU")
        if gpus < gpus_per_worker:
            raise NerveError(
                f"--gpus-per-worker {gpus_per_worker:g}: no Ray node has more than {gpus:g} GPUs"
            )
    cpus = max((n["Resources"].get("CPU", 0) for n in nodes), default=0)
    if cpus < cpus_per_worker:
        raise NerveError(
            f"--cpus-per-worker {cpus_per_worker:g}: no Ray node has more than {cpus:g} CPUs"
        )
