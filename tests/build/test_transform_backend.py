"""The transform rule: its output takes the place of the logits; a probability output is
used as it is (scores = the transform's probabilities). And a failing transform fails its
request, not the server."""

from __future__ import annotations

import asyncio
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("lupa")

import nerve
from nerve.bundle import Manifest, TransformSpec, hash_files, write_manifest
from nerve.engine.core import Engine
from nerve.transform import TransformBackend, TransformError, with_model_transform
from nerve.transform.lua import LuaTransform

TEXT = "Mozilla is headquartered in San Francisco, CA"
STRATEGIES = ("none", "simple", "first", "average", "max")


def softmax(x: np.ndarray) -> np.ndarray:
    e = np.exp(x - x.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


def with_transform(model_dir: Path, body: str, output: str) -> Engine:
    engine = nerve.load(model_dir, backend="onnx")
    transform = LuaTransform(f"function Postprocess(arr)\n  {body}\nend")
    engine.backend = TransformBackend(engine.backend, transform, output)
    return engine


def token_rows(engine: Engine, text: str = TEXT) -> list[nerve.Entity]:
    result = engine(text, aggregation_strategy="none", ignore_labels=[], raw_scores=True)
    return list(result.entities)


def test_a_logits_transform_replaces_the_logits(onnx_model_dir: Path) -> None:
    plain = token_rows(nerve.load(onnx_model_dir, backend="onnx"))
    scaled = token_rows(with_transform(onnx_model_dir, "return arr * 3", "logits"))
    assert [(e.start, e.end) for e in scaled] == [(e.start, e.end) for e in plain]
    for p, s in zip(plain, scaled, strict=True):
        raw = 3 * np.asarray(p.raw, dtype=np.float32)
        assert s.raw is not None
        np.testing.assert_allclose(
            np.asarray(s.raw), raw, rtol=1e-5
        )  # raw_scores: the transform's output
        probs = softmax(raw)
        assert s.score == pytest.approx(float(probs.max()), abs=1e-5)  # scores: its softmax


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_a_softmax_transform_leaves_every_result_unchanged(
    onnx_model_dir: Path, strategy: str
) -> None:
    plain = nerve.load(onnx_model_dir, backend="onnx")(TEXT, aggregation_strategy=strategy)
    wrapped = with_transform(onnx_model_dir, "return arr:softmax(3)", "probabilities")
    result = wrapped(TEXT, aggregation_strategy=strategy)
    assert [(e.label, e.start, e.end) for e in result.entities] == [
        (e.label, e.start, e.end) for e in plain.entities
    ]
    for a, b in zip(plain.entities, result.entities, strict=True):
        assert b.score == pytest.approx(a.score, abs=1e-6)


def test_predict_scores_are_the_transforms_probabilities(onnx_model_dir: Path) -> None:
    pytest.importorskip("grpc")
    from nerve.server.wire.encoderfile import token_rows as predict_rows

    plain = token_rows(nerve.load(onnx_model_dir, backend="onnx"))
    # A sharper distribution than the model's: nerve must not soften it again.
    wrapped = with_transform(onnx_model_dir, "return (arr * 4):softmax(3)", "probabilities")
    rows = predict_rows(
        wrapped(TEXT, aggregation_strategy="none", ignore_labels=[], raw_scores=True)
    )
    assert len(rows) == len(plain)
    for p, row in zip(plain, rows, strict=True):
        expected = softmax(4 * np.asarray(p.raw, dtype=np.float32))
        np.testing.assert_allclose(row.scores, expected, atol=1e-6)
        assert row.score == pytest.approx(float(expected.max()), abs=1e-6)


def test_a_probability_transform_that_stops_summing_to_one_fails(onnx_model_dir: Path) -> None:
    wrapped = with_transform(onnx_model_dir, "return arr:softmax(3) * 2", "probabilities")
    with pytest.raises(TransformError, match="does not sum to 1"):
        wrapped(TEXT)


def test_model_transform_hook(onnx_model_dir: Path, tmp_path: Path) -> None:
    engine = nerve.load(onnx_model_dir, backend="onnx")
    # An ordinary model directory: the backend is left alone.
    assert with_model_transform(onnx_model_dir, engine.backend) is engine.backend
    # A built one declares its transform in nerve_bundle.json.
    built = tmp_path / "built"
    built.mkdir()
    for f in onnx_model_dir.iterdir():
        (built / f.name).write_bytes(f.read_bytes())
    spec = TransformSpec("function Postprocess(arr) return arr * 2 end", "logits")
    files = hash_files(built, [f.name for f in built.iterdir()])
    write_manifest(built, Manifest("m", "1", files, transform=spec))
    wrapped = with_model_transform(built, engine.backend)
    assert isinstance(wrapped, TransformBackend)
    assert wrapped.output == "logits"
    assert with_model_transform(built, wrapped) is wrapped  # idempotent


def test_a_failing_transform_fails_its_request_not_the_server(onnx_model_dir: Path) -> None:
    pytest.importorskip("starlette")
    pytest.importorskip("grpc")
    import httpx

    from nerve.server.config import ServerConfig
    from nerve.server.http.app import create_app
    from nerve.server.metrics import ServerMetrics
    from nerve.server.service import InferenceService

    # Fails only on long input, so the same server must answer the next request.
    engine = with_transform(
        onnx_model_dir,
        "if #arr > 9 * 40 then error('input too long for me') end\n  return arr",
        "logits",
    )
    service = InferenceService(engine, ServerConfig(), ServerMetrics())
    service.start()

    async def scenario() -> list[httpx.Response]:
        transport = httpx.ASGITransport(app=create_app(service))
        async with httpx.AsyncClient(transport=transport, base_url="http://localhost") as client:
            failed = await client.post("/predict", json={"inputs": [TEXT * 3]})
            ok = await client.post("/predict", json={"inputs": ["Paris"]})
            # Sent together, they may share a merged batch: only the long one may fail.
            together = await asyncio.gather(
                client.post("/predict", json={"inputs": [TEXT * 3]}),
                *[client.post("/predict", json={"inputs": ["Paris"]}) for _ in range(6)],
            )
            health = await client.get("/health")
            return [failed, ok, health, *together]

    try:
        failed, ok, health, failed_too, *neighbours = asyncio.run(scenario())
    finally:
        service.close()
    assert failed_too.status_code == 500
    assert [r.status_code for r in neighbours] == [200] * 6
    assert failed.status_code == 500
    assert failed.json()["error"]["code"] == "model_error"
    assert ok.status_code == 200
    assert ok.json()["results"][0]["tokens"]
    assert health.status_code == 200
