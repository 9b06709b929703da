"""ONNX Runtime execution provider and session flags (`--execution-provider`,
`--graph-optimization-level`, `--disable-cpu-fallback`, `--with-arena-allocator`,
`--device-id`): applied to the session, and refused clearly when they cannot apply."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

import nerve
from nerve.backends.ort_options import OrtOptions, apply_options, check_options
from nerve.errors import InvalidInput

ort = pytest.importorskip("onnxruntime")
TEXT = "Mozilla is headquartered in San Francisco, CA"


def test_default_options_are_nerves_cpu_session() -> None:
    options = ort.SessionOptions()
    assert apply_options(OrtOptions(), options, ort) == ["CPUExecutionProvider"]
    assert OrtOptions().is_default


@pytest.mark.parametrize(
    ("level", "member"),
    [
        ("disable", "ORT_DISABLE_ALL"),
        ("basic", "ORT_ENABLE_BASIC"),
        ("level2", "ORT_ENABLE_EXTENDED"),
    ],
)
def test_graph_optimization_level(level: str, member: str) -> None:
    options = ort.SessionOptions()
    apply_options(OrtOptions(graph_optimization_level=level), options, ort)
    assert options.graph_optimization_level == getattr(ort.GraphOptimizationLevel, member)


def test_cpu_fallback_and_arena() -> None:
    options = ort.SessionOptions()
    options.enable_cpu_mem_arena = False
    apply_options(OrtOptions(disable_cpu_fallback=True, with_arena_allocator=True), options, ort)
    assert options.get_session_config_entry("session.disable_cpu_ep_fallback") == "1"
    assert options.enable_cpu_mem_arena is True


def test_a_device_provider_gets_its_device_id_and_the_cpu_fallback() -> None:
    class FakeOrt:  # an ONNX Runtime that has CUDA, to see the provider chain built
        __version__ = "test"
        GraphOptimizationLevel = ort.GraphOptimizationLevel

        @staticmethod
        def get_available_providers() -> list[str]:
            return ["CUDAExecutionProvider", "CPUExecutionProvider"]

    chain = apply_options(OrtOptions("cuda", device_id=1), ort.SessionOptions(), FakeOrt)
    assert chain == [("CUDAExecutionProvider", {"device_id": 1}), "CPUExecutionProvider"]
    chain = apply_options(
        OrtOptions("cuda", disable_cpu_fallback=True), ort.SessionOptions(), FakeOrt
    )
    assert chain == [("CUDAExecutionProvider", {})]


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (OrtOptions("quantum"), "--execution-provider 'quantum' is not one of"),
        (OrtOptions(graph_optimization_level="max"), "--graph-optimization-level 'max'"),
        (OrtOptions(device_id=1), "--device-id needs a device provider"),
        (OrtOptions(device_id=-1, execution_provider="cpu"), "--device-id must be >= 0"),
    ],
)
def test_bad_options_are_refused(options: OrtOptions, message: str) -> None:
    with pytest.raises(InvalidInput, match=message.replace("(", r"\(")):
        check_options(options, ort)


@pytest.mark.skipif(
    "TensorrtExecutionProvider" in ort.get_available_providers(), reason="TensorRT installed"
)
def test_a_provider_that_is_not_installed_is_refused() -> None:
    with pytest.raises(InvalidInput) as err:
        check_options(OrtOptions("tensorrt"), ort)
    assert "execution provider TensorrtExecutionProvider is not available" in err.value.message
    assert "CPUExecutionProvider" in err.value.message  # the list of what is available


def test_engine_with_options_answers_the_same(onnx_model_dir: Path) -> None:
    default = nerve.load(onnx_model_dir, backend="onnx")
    tuned = nerve.load(
        onnx_model_dir,
        backend="onnx",
        ort_options=OrtOptions(
            "cpu", graph_optimization_level="disable", with_arena_allocator=True
        ),
    )
    got, want = tuned(TEXT).to_dict(), default(TEXT).to_dict()
    assert [(e["label"], e["start"], e["end"]) for e in got["entities"]] == [
        (e["label"], e["start"], e["end"]) for e in want["entities"]
    ]
    assert [e["score"] for e in got["entities"]] == pytest.approx(
        [e["score"] for e in want["entities"]], abs=1e-5
    )


def test_serve_refuses_an_unavailable_provider(onnx_model_dir: Path) -> None:
    if "TensorrtExecutionProvider" in ort.get_available_providers():
        pytest.skip("TensorRT installed")
    done = subprocess.run(
        [sys.executable, "-m", "nerve.cli.main", "serve", "--model", str(onnx_model_dir)]
        + ["--backend", "onnx", "--execution-provider", "tensorrt", "--http-port", "0"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 2
    assert "execution provider TensorrtExecutionProvider is not available" in done.stderr
    assert "Traceback" not in done.stderr


def test_ort_options_need_the_onnx_backend(tiny_model_dir: object) -> None:
    pytest.importorskip("torch")
    with pytest.raises(InvalidInput, match="need the onnx backend"):
        nerve.load(
            tiny_model_dir("bert"),  # type: ignore[operator]
            backend="torch",
            ort_options=OrtOptions(graph_optimization_level="basic"),
        )
