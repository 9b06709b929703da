"""gRPC's health service and limits against a real server: open health Watch streams (which
need no key) are capped and cannot shut authenticated clients out of Predict; Predict beyond
--max-concurrent-requests gets the message naming the flag; UNAUTHENTICATED calls are counted
in nerve_requests_total; Watch streams end at shutdown instead of holding it."""

from __future__ import annotations

import signal
import threading
import time
from pathlib import Path

import grpc
import httpx
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from nerve.server.grpc_health import MAX_HEALTH_WATCHES
from nerve.server.proto import token_classification_pb2 as tc
from nerve.server.proto import token_classification_pb2_grpc as tc_grpc

from .procs import start_server

KEY = "s3cret"
AUTH = [("authorization", f"Bearer {KEY}")]


def _watch(channel: grpc.Channel) -> grpc.Future:
    return health_pb2_grpc.HealthStub(channel).Watch(
        health_pb2.HealthCheckRequest(service=""), timeout=120
    )


def test_watch_streams_are_capped_and_leave_predict_its_slots(
    model_dir: Path, tmp_path: Path
) -> None:
    limit = 4  # the request limit, far under the Watch cap: the old setup's worst case
    server = start_server(
        model_dir, tmp_path, "--threads", "1", "--api-key", KEY,
        "--max-concurrent-requests", str(limit),
    )  # fmt: skip
    channels = [grpc.insecure_channel(server.grpc_address) for _ in range(4)]
    streams = []
    try:
        for i in range(MAX_HEALTH_WATCHES):
            stream = _watch(channels[i % len(channels)])
            assert next(stream).status == health_pb2.HealthCheckResponse.SERVING
            streams.append(stream)
        with pytest.raises(grpc.RpcError) as refused:
            next(_watch(channels[0]))
        assert refused.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
        assert f"{MAX_HEALTH_WATCHES} health Watch streams open" in str(refused.value.details())

        stub = tc_grpc.TokenClassificationInferenceStub(channels[0])
        reply = stub.Predict(tc.TokenClassificationRequest(inputs=["Tim Cook"]), metadata=AUTH)
        assert reply.results and reply.model_id
        health = health_pb2_grpc.HealthStub(channels[1])
        check = health.Check(health_pb2.HealthCheckRequest())
        assert check.status == health_pb2.HealthCheckResponse.SERVING
        listed = health.List(health_pb2.HealthListRequest()).statuses
        serving = health_pb2.HealthCheckResponse.SERVING
        assert {name: s.status for name, s in listed.items()} == {
            "": serving,
            "encoderfile.token_classification.TokenClassificationInference": serving,
        }

        # A stream closed frees its place.
        streams.pop().cancel()
        deadline = time.monotonic() + 10
        while True:
            try:
                assert next(_watch(channels[2])).status == health_pb2.HealthCheckResponse.SERVING
                break
            except grpc.RpcError:
                assert time.monotonic() < deadline, "a cancelled Watch never freed its place"
                time.sleep(0.1)

        # Shutdown: every watcher hears NOT_SERVING, then its stream ends (it held the stop
        # for the whole graceful timeout before).
        seen: list[int] = []

        def follow() -> None:
            for reply in streams[0]:
                seen.append(reply.status)

        follower = threading.Thread(target=follow)
        follower.start()
        started = time.monotonic()
        assert server.stop(signal.SIGTERM, timeout=25) == 0
        assert time.monotonic() - started < 10
        follower.join(10)
        assert not follower.is_alive()
        assert seen == [health_pb2.HealthCheckResponse.NOT_SERVING]
    finally:
        for stream in streams:
            stream.cancel()
        for channel in channels:
            channel.close()
        server.stop(signal.SIGKILL)


def test_predict_beyond_the_limit_names_the_flag_and_refusals_are_counted(
    model_dir: Path, tmp_path: Path
) -> None:
    server = start_server(
        model_dir, tmp_path, "--threads", "1", "--api-key", KEY,
        "--max-concurrent-requests", "1",
    )  # fmt: skip
    try:
        with grpc.insecure_channel(server.grpc_address) as channel:
            stub = tc_grpc.TokenClassificationInferenceStub(channel)
            for _ in range(2):
                with pytest.raises(grpc.RpcError) as denied:
                    stub.Predict(tc.TokenClassificationRequest(inputs=["Tim Cook"]))
                assert denied.value.code() == grpc.StatusCode.UNAUTHENTICATED

            # Six long requests at once against a limit of one: the refusals are the
            # service's, naming the flag (gRPC's own text was "Concurrent RPC limit exceeded!").
            request = tc.TokenClassificationRequest(inputs=["Angela Merkel met Obama. " * 300])
            calls = [stub.Predict.future(request, metadata=AUTH) for _ in range(6)]
            codes, details = [], []
            for call in calls:
                try:
                    call.result(timeout=120)
                    codes.append(grpc.StatusCode.OK)
                except grpc.RpcError as exc:
                    codes.append(exc.code())
                    details.append(exc.details())
        assert grpc.StatusCode.OK in codes
        assert grpc.StatusCode.RESOURCE_EXHAUSTED in codes
        assert all("(--max-concurrent-requests)" in d for d in details), details
        metrics = httpx.get(server.url + "/metrics", headers=dict(AUTH), timeout=10).text
        assert 'nerve_requests_total{route="grpc:Predict",status="UNAUTHENTICATED"} 2.0' in metrics
        refused = codes.count(grpc.StatusCode.RESOURCE_EXHAUSTED)
        line = (
            f'nerve_requests_total{{route="grpc:Predict",status="RESOURCE_EXHAUSTED"}} {refused}.0'
        )
        assert line in metrics
    finally:
        server.stop(signal.SIGKILL)
