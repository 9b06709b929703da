"""``nerve export`` → ONNX, and the ONNX Runtime backend that runs the result.

Every model is a tiny seeded random one from ``support.tiny_models`` (its classifier head is
scaled up so that argmax varies from token to token and label agreement means something).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

pytest.importorskip("torch")
pytest.importorskip("onnx")
pytest.importorskip("onnxruntime")
pytest.importorskip("transformers")

import onnx  # noqa: E402
import torch  # noqa: E402

from nerve.backends.onnx_backend import OnnxBackend  # noqa: E402
from nerve.cli.main import main  # noqa: E402
from nerve.encoder.weights import load_model  # noqa: E402
from nerve.errors import InvalidInput, ModelLoadError  # noqa: E402
from nerve.export import (  # noqa: E402
    METADATA_FILE,
    ExportError,
    ExportReport,
    export_onnx,
    onnx_export,
)
from nerve.model.spec import read_spec  # noqa: E402

FAMILIES = ("bert", "distilbert", "roberta", "xlm-roberta", "camembert", "electra", "electra-proj")
# Families whose optimum export declares token_type_ids.
WITH_TOKEN_TYPES = ("bert", "electra", "electra-proj")
Exporter = Callable[..., ExportReport]


@pytest.fixture(scope="module")
def exported(tiny_model_dir: Any, tmp_path_factory: pytest.TempPathFactory) -> Exporter:
    """``exported(arch, **options)`` → the report of an export, cached per module."""
    cache: dict[tuple[str, tuple[tuple[str, Any], ...]], ExportReport] = {}

    def get(arch: str, **options: Any) -> ExportReport:
        key = (arch, tuple(sorted(options.items())))
        if key not in cache:
            out = tmp_path_factory.mktemp(f"onnx-{arch}") / "out"
            cache[key] = export_onnx(tiny_model_dir(arch), out, **options)
        return cache[key]

    return get


def padded_batch(
    vocab: int, pad_id: int, lengths: tuple[int, ...] = (13, 7, 2, 10)
) -> tuple[np.ndarray, np.ndarray]:
    """Right-padded random ids, rows of different lengths."""
    rng = np.random.default_rng(42)
    seq = max(lengths)
    mask = (np.arange(seq)[None, :] < np.array(lengths)[:, None]).astype(np.int64)
    ids = rng.integers(0, vocab, size=mask.shape).astype(np.int64)
    ids[mask == 0] = pad_id
    return ids, mask


def torch_logits(model_dir: Path, ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
    spec = read_spec(model_dir)
    model = load_model(model_dir, spec.encoder)
    with torch.inference_mode():
        return model(torch.from_numpy(ids), torch.from_numpy(mask)).numpy()


def compare(model_dir: Path, onnx_dir: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(torch logits, onnx logits, mask) on the same padded batch."""
    spec = read_spec(model_dir)
    ids, mask = padded_batch(spec.encoder.vocab_size, spec.encoder.pad_token_id)
    got = OnnxBackend(onnx_dir, read_spec(onnx_dir), threads=1).forward(ids, mask)
    return torch_logits(model_dir, ids, mask), got, mask.astype(bool)


# ---------------------------------------------------------------------------------------------
# float32 export


@pytest.mark.parametrize("arch", FAMILIES)
def test_fp32_export_matches_torch(arch: str, tiny_model_dir: Any, exported: Exporter) -> None:
    report = exported(arch)
    want, got, keep = compare(tiny_model_dir(arch), report.out_dir)
    assert got.dtype == np.float32 and got.shape == want.shape
    np.testing.assert_allclose(got[keep], want[keep], atol=1e-4, rtol=0)
    assert report.max_abs_diff < 1e-4 and report.argmax_agreement == 1.0


@pytest.mark.parametrize("arch", FAMILIES)
def test_graph_interface_is_optimums(arch: str, exported: Exporter) -> None:
    graph = onnx.load(str(exported(arch).model_path)).graph
    names = [i.name for i in graph.input]
    expected = ["input_ids", "attention_mask"] + (
        ["token_type_ids"] if arch in WITH_TOKEN_TYPES else []
    )
    assert names == expected
    for tensor in graph.input:
        assert tensor.type.tensor_type.elem_type == onnx.TensorProto.INT64
        dims = [d.dim_param for d in tensor.type.tensor_type.shape.dim]
        assert dims == ["batch_size", "sequence_length"]
    (out,) = graph.output
    assert out.name == "logits"
    assert out.type.tensor_type.elem_type == onnx.TensorProto.FLOAT
    dims = out.type.tensor_type.shape.dim
    assert [d.dim_param for d in dims[:2]] == ["batch_size", "sequence_length"]
    assert dims[2].dim_value == 9


def test_out_dir_is_a_complete_model_dir(tiny_model_dir: Any, exported: Exporter) -> None:
    report = exported("bert")
    files = {p.name for p in report.out_dir.iterdir()}
    source = {p.name for p in tiny_model_dir("bert").iterdir()}
    assert {
        "model.onnx",
        "config.json",
        "tokenizer.json",
        "tokenizer_config.json",
        METADATA_FILE,
    } <= files
    assert set(onnx_export.COMPANION_FILES) & source <= files
    assert "model.safetensors" not in files
    assert not any(name.startswith(".") for name in files)  # no work files left behind
    meta = json.loads((report.out_dir / METADATA_FILE).read_text())
    assert meta["opset"] == 17 and meta["quantization"] is None and meta["optimized"] is False
    assert meta["source"] == str(tiny_model_dir("bert").resolve())
    assert meta["onnxruntime_version"] and meta["inputs"] == list(report.inputs)
    # The copied config is the source's: nerve reads the same labels from the export.
    assert read_spec(report.out_dir).labels == read_spec(tiny_model_dir("bert")).labels
    siblings = [p.name for p in report.out_dir.parent.iterdir() if p.name.startswith(".")]
    assert siblings == []


@pytest.mark.parametrize("arch", ["bert", "roberta", "electra-proj"])
def test_optimized_graph_is_fused_and_exact(
    arch: str, tiny_model_dir: Any, exported: Exporter
) -> None:
    report = exported(arch, optimize=True)
    layers = read_spec(tiny_model_dir(arch)).encoder.num_layers
    # ORT's Attention fusion wants a LayerNorm before Q/K/V: ELECTRA's first layer reads the
    # embedding projection instead, so that one layer stays unfused (and exact).
    assert report.fusions["Attention"] == layers - (arch == "electra-proj")
    assert report.fusions["SkipLayerNormalization"] == 2 * layers
    assert report.fusions["BiasGelu"] == layers
    # ORT's EmbedLayerNormalization kernel cannot number positions from pad_id + 1.
    assert ("EmbedLayerNormalization" in report.fusions) == (arch != "roberta")
    assert report.sizes.keys() == {"fp32", "optimized"}
    want, got, keep = compare(tiny_model_dir(arch), report.out_dir)
    np.testing.assert_allclose(got[keep], want[keep], atol=1e-4, rtol=0)


@pytest.mark.parametrize("opset", [14, 20])
def test_other_opsets(opset: int, tiny_model_dir: Any, exported: Exporter) -> None:
    report = exported("distilbert", opset=opset)
    assert onnx.load(str(report.model_path)).opset_import[0].version == opset
    want, got, keep = compare(tiny_model_dir("distilbert"), report.out_dir)
    np.testing.assert_allclose(got[keep], want[keep], atol=1e-4, rtol=0)


# ---------------------------------------------------------------------------------------------
# int8


@pytest.mark.parametrize("arch", ["bert", "xlm-roberta", "camembert", "electra-proj"])
@pytest.mark.parametrize("optimize", [False, True])
def test_int8_agrees_and_is_smaller(
    arch: str, optimize: bool, tiny_model_dir: Any, exported: Exporter
) -> None:
    report = exported(arch, quantize="int8", optimize=optimize)
    fp32 = exported(arch)
    # Tiny graphs carry proportionally more scales and structure than real ones (MiniLM-L6:
    # 90 MB -> 23 MB); 8-bit weights must still show.
    assert report.sizes["int8"] < 0.75 * report.sizes["fp32"]
    assert report.size_bytes == report.sizes["int8"] < 0.75 * fp32.size_bytes
    want, got, keep = compare(tiny_model_dir(arch), report.out_dir)
    agreement = (got.argmax(-1) == want.argmax(-1))[keep].mean()
    assert agreement >= 0.9, agreement
    backend = OnnxBackend(report.out_dir, read_spec(report.out_dir))
    assert backend.dtype == "int8"
    assert OnnxBackend(fp32.out_dir, read_spec(fp32.out_dir)).dtype == "float32"


def test_int8_quantizes_embeddings_but_not_the_head(exported: Exporter) -> None:
    model = onnx.load(str(exported("bert", quantize="int8").model_path))
    biggest = max(model.graph.initializer, key=lambda t: np.prod(t.dims))
    # The token table is int8 per row (embedding_q8.py), GEMM weights int8 per channel.
    assert biggest.name == "embeddings.word.weight.q8"
    assert biggest.data_type == onnx.TensorProto.INT8
    matrices = {
        t.name: list(t.dims)
        for t in model.graph.initializer
        if t.data_type == onnx.TensorProto.FLOAT and len(t.dims) == 2
    }
    # Float stays: the head, the small position/type tables and the per-row scales only.
    assert [d for n, d in matrices.items() if "embeddings" not in n] == [[32, 9]]
    assert matrices["embeddings.word.weight.scale"] == [list(biggest.dims)[0], 1]
    assert set(matrices) - {"embeddings.word.weight.scale"} <= {
        n for n in matrices if n.startswith(("embeddings.position", "embeddings.token_type"))
    } | {n for n, d in matrices.items() if d == [32, 9]}


def test_int8_detected_from_graph_without_metadata(exported: Exporter, tmp_path: Path) -> None:
    src = exported("distilbert", quantize="int8").out_dir
    for f in src.iterdir():
        if f.name != METADATA_FILE:
            (tmp_path / f.name).write_bytes(f.read_bytes())
    assert OnnxBackend(tmp_path, read_spec(tmp_path)).dtype == "int8"


# ---------------------------------------------------------------------------------------------
# ONNX backend


def test_backend_accepts_optimum_quantized_name(exported: Exporter, tmp_path: Path) -> None:
    src = exported("roberta", quantize="int8").out_dir
    for f in src.iterdir():
        name = "model_quantized.onnx" if f.name == "model.onnx" else f.name
        if f.name != METADATA_FILE:
            (tmp_path / name).write_bytes(f.read_bytes())
    backend = OnnxBackend(tmp_path, read_spec(tmp_path))
    assert backend.path.name == "model_quantized.onnx" and backend.dtype == "int8"
    assert (backend.name, backend.device) == ("onnx", "cpu")


def test_backend_missing_graph_and_named_file(exported: Exporter, tmp_path: Path) -> None:
    (tmp_path / "config.json").write_bytes((exported("bert").out_dir / "config.json").read_bytes())
    spec = read_spec(tmp_path)
    with pytest.raises(ModelLoadError, match="nerve export"):
        OnnxBackend(tmp_path, spec)
    with pytest.raises(ModelLoadError, match="no ONNX graph .other.onnx.*present: model.onnx"):
        OnnxBackend(exported("bert").out_dir, spec, onnx_file="other.onnx")


def test_backend_rejects_label_count_mismatch(exported: Exporter) -> None:
    out = exported("bert").out_dir
    spec = read_spec(out)
    wrong = spec.__class__(
        spec.architecture,
        spec.labels + ("B-EXTRA",),
        spec.encoder,
        spec.max_length,
        spec.raw_config,
    )
    with pytest.raises(ModelLoadError, match="10 labels"):
        OnnxBackend(out, wrong)


def test_backend_forward_is_thread_safe(tiny_model_dir: Any, exported: Exporter) -> None:
    out = exported("bert").out_dir
    spec = read_spec(out)
    backend = OnnxBackend(out, spec, threads=1)
    batches = [
        padded_batch(spec.encoder.vocab_size, 0, lengths=(n, n // 2 + 1)) for n in range(3, 11)
    ]
    expected = [backend.forward(ids, mask) for ids, mask in batches]
    results: dict[int, np.ndarray] = {}

    def work(i: int) -> None:
        results[i] = backend.forward(*batches[i])

    threads = [threading.Thread(target=work, args=(i,)) for i in range(len(batches))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for i, want in enumerate(expected):
        np.testing.assert_array_equal(results[i], want)


def test_backend_module_does_not_import_torch() -> None:
    import subprocess
    import sys

    code = "import sys, nerve.backends.onnx_backend; sys.exit('torch' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0


# ---------------------------------------------------------------------------------------------
# Errors and atomicity


def test_non_empty_out_dir_needs_overwrite(tiny_model_dir: Any, tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    with pytest.raises(InvalidInput, match="not empty"):
        export_onnx(tiny_model_dir("distilbert"), out)
    assert (out / "keep.txt").read_text() == "mine"
    export_onnx(tiny_model_dir("distilbert"), out, overwrite=True)
    assert (out / "model.onnx").exists() and not (out / "keep.txt").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]  # no leftovers


def test_empty_out_dir_is_fine(tiny_model_dir: Any, tmp_path: Path) -> None:
    (tmp_path / "out").mkdir()
    export_onnx(tiny_model_dir("distilbert"), tmp_path / "out")
    assert (tmp_path / "out" / "model.onnx").exists()


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"quantize": "int4"}, "unknown quantization 'int4'"),
        ({"quantize": "fp16"}, "supports int8"),
        ({"opset": 12}, "opset must be between 14 and 20"),
    ],
)
def test_bad_options(
    kwargs: dict[str, Any], match: str, tiny_model_dir: Any, tmp_path: Path
) -> None:
    with pytest.raises(InvalidInput, match=match):
        export_onnx(tiny_model_dir("bert"), tmp_path / "out", **kwargs)
    assert not (tmp_path / "out").exists()


def _copy_model(src: Path, dest: Path, skip: tuple[str, ...] = ()) -> Path:
    dest.mkdir()
    for f in src.iterdir():
        if f.name not in skip:
            (dest / f.name).write_bytes(f.read_bytes())
    return dest


def test_pickle_only_model_asks_for_conversion(tiny_model_dir: Any, tmp_path: Path) -> None:
    src = _copy_model(tiny_model_dir("bert"), tmp_path / "m", skip=("model.safetensors",))
    (src / "pytorch_model.bin").write_bytes(b"not loaded")
    with pytest.raises(ModelLoadError, match="not a safetensors model") as info:
        export_onnx(src, tmp_path / "out")
    assert "safe_serialization=True" in info.value.message
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    ("missing", "match"),
    [
        ("model.safetensors", "model.safetensors is missing"),
        ("config.json", "config.json is missing"),
        ("tokenizer.json", "tokenizer.json is missing"),
    ],
)
def test_missing_files(missing: str, match: str, tiny_model_dir: Any, tmp_path: Path) -> None:
    src = _copy_model(tiny_model_dir("bert"), tmp_path / "m", skip=(missing,))
    with pytest.raises(ModelLoadError, match=match):
        export_onnx(src, tmp_path / "out")


def test_source_must_be_a_directory(tmp_path: Path) -> None:
    with pytest.raises(ModelLoadError, match="not a directory"):
        export_onnx(tmp_path / "nope", tmp_path / "out")


def test_out_dir_cannot_be_the_source(tiny_model_dir: Any, tmp_path: Path) -> None:
    src = _copy_model(tiny_model_dir("bert"), tmp_path / "m")
    with pytest.raises(InvalidInput, match="source model directory"):
        export_onnx(src, src, overwrite=True)


def test_failure_leaves_nothing_behind(
    tiny_model_dir: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: Any, **kwargs: Any) -> Any:
        raise ExportError("simulated mismatch")

    monkeypatch.setattr(onnx_export, "_verify", broken)
    with pytest.raises(ExportError, match="simulated"):
        export_onnx(tiny_model_dir("distilbert"), tmp_path / "out")
    assert list(tmp_path.iterdir()) == []
    # An existing export survives a failed overwrite untouched.
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "model.onnx").write_text("old")
    with pytest.raises(ExportError):
        export_onnx(tiny_model_dir("distilbert"), tmp_path / "out", overwrite=True)
    assert (tmp_path / "out" / "model.onnx").read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_large_models_use_external_data(
    tiny_model_dir: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(onnx_export, "EXTERNAL_DATA_BYTES", 0)
    report = export_onnx(tiny_model_dir("bert"), tmp_path / "out", optimize=True)
    files = sorted(p.name for p in report.out_dir.glob("model.onnx*"))
    assert files == ["model.onnx", "model.onnx.data"]
    want, got, keep = compare(tiny_model_dir("bert"), report.out_dir)
    np.testing.assert_allclose(got[keep], want[keep], atol=1e-4, rtol=0)


# ---------------------------------------------------------------------------------------------
# CLI


def test_cli_export(
    tiny_model_dir: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    code = main(
        [
            "export",
            str(tiny_model_dir("distilbert")),
            str(out),
            "--quantize",
            "int8",
            "--opset",
            "18",
        ]
    )
    stdout = capsys.readouterr().out
    assert code == 0
    assert stdout.count("\n") == 1 and "model.onnx" in stdout and "int8" in stdout
    meta = json.loads((out / METADATA_FILE).read_text())
    assert meta["quantization"] == "int8" and meta["opset"] == 18

    code = main(["export", str(tiny_model_dir("distilbert")), str(out)])
    assert code == 2
    assert "--overwrite" in capsys.readouterr().err

    code = main(
        ["export", str(tiny_model_dir("distilbert")), str(out), "--overwrite", "--optimize"]
    )
    assert code == 0 and "Attention×2" in capsys.readouterr().out
    assert json.loads((out / METADATA_FILE).read_text())["quantization"] is None


def test_engine_runs_the_export(tiny_model_dir: Any, exported: Exporter) -> None:
    """``nerve.load`` picks the onnx backend for an export and labels words like torch does."""
    import nerve

    sentences = [["Peter", "Blackburn", "met", "Angela", "Merkel", "in", "Berlin"], ["Paris"]]
    torch_engine = nerve.load(tiny_model_dir("bert"), backend="torch")
    onnx_engine = nerve.load(exported("bert").out_dir)
    assert isinstance(onnx_engine.backend, OnnxBackend)
    want = [w.labels for w in torch_engine.predict_words(sentences)]
    assert [w.labels for w in onnx_engine.predict_words(sentences)] == want
