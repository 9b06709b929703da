"""The nerve server's HTTP routes (Baseten ``/predict_tokens``, encoderfile ``/predict``,
native ``/v1/entities``, ``/health``, ``/metrics``...) as a Ray Serve deployment: each replica
holds one engine and the same ASGI app as ``nerve serve``; Ray Serve's proxy spreads requests
over the replicas and adds or removes replicas with the number of requests in flight.

    serve run nerve.ray.serve:app model=/path/to/model          # one command
    serve run serve-config.yaml                                 # replicas, autoscaling, args

``args`` are ``nerve serve``'s settings by field name (``model``, ``max_batch_tokens``,
``threads``, ``api_key``...); unset ones come from ``NERVE_*`` variables, as for
``nerve serve``. Where to listen is Ray Serve's (``http_options``), not nerve's.
"""

from __future__ import annotations

import dataclasses
import os
from typing import Any

from ray import serve

from ..errors import InvalidInput
from ..server.config import _PARSERS, ServerConfig, resolve_config
from ..server.http.app import create_app
from ..server.metrics import ServerMetrics
from ..server.runner import load_engine
from ..server.service import InferenceService

# Listening is the Serve proxy's job; these nerve serve settings have no meaning here.
_NOT_HERE = frozenset(
    {"host", "grpc_host", "http_port", "grpc_port", "disable_http", "disable_grpc"}
)

DEFAULT_AUTOSCALING = {
    "min_replicas": 1,
    "max_replicas": 4,
    # Replicas are added when more requests than this are in flight or queued per replica.
    "target_ongoing_requests": 8,
}


def server_config(args: dict[str, Any]) -> ServerConfig:
    """``nerve serve``'s config from Serve ``args`` (typed in YAML, text on the command line)."""
    known = {f.name for f in dataclasses.fields(ServerConfig)} - _NOT_HERE
    flags: dict[str, Any] = {}
    for name, value in args.items():
        if name in _NOT_HERE:
            raise InvalidInput(f"{name!r}: where to listen is set by Ray Serve's http_options")
        if name not in known:
            raise InvalidInput(f"unknown nerve setting {name!r}; known: {', '.join(sorted(known))}")
        flags[name] = _PARSERS[name](value) if isinstance(value, str) else value
    return resolve_config(flags, os.environ)


@serve.deployment(
    name="nerve",
    ray_actor_options={"num_cpus": 1},
    autoscaling_config=DEFAULT_AUTOSCALING,
)
@serve.ingress()
class NerveDeployment:
    def __init__(self, args: dict[str, Any]) -> None:
        config = server_config(args)
        self.service = InferenceService(load_engine(config), config, ServerMetrics())
        self.service.start()
        self.asgi_app = create_app(self.service)

    def __serve_build_asgi_app__(self) -> Any:
        return self.asgi_app

    def check_health(self) -> None:
        """Serve restarts a replica whose model worker died."""
        if not self.service.healthy:
            raise RuntimeError("the model worker stopped")

    def __del__(self) -> None:
        service = getattr(self, "service", None)
        if service is not None:
            service.close()


def app(args: dict[str, Any]) -> Any:
    """Application builder for ``serve run nerve.ray.serve:app key=value ...`` and config
    files (``import_path: nerve.ray.serve:app``, ``args: {...}``)."""
    server_config(dict(args))  # a bad setting fails here, before any replica starts
    return NerveDeployment.bind(dict(args))  # type: ignore[attr-defined]
