"""A model appended to a runtime executable: the trailer, reading the bundle back from the
executable's file, and what `base_binary_path` accepts — without compiling a runtime."""

from __future__ import annotations

import json
import stat
from collections.abc import Callable
from pathlib import Path

import pytest

import nerve
from nerve.build import build, load_config, read_metadata
from nerve.build.pyinstaller import write_spec
from nerve.build.runtime import usable_base_binary
from nerve.bundle import append_bundle, bundle_manifest, find_appended, open_bundle
from nerve.bundle.appended import TRAILER_SIZE, SliceFile
from nerve.standalone.embedded import EMBEDDED_DIR

WriteConfig = Callable[..., Path]
TEXT = "Mozilla is headquartered in San Francisco, CA"


def test_append_then_find_and_read_back(
    write_config: WriteConfig, tmp_path: Path, onnx_model_dir: Path
) -> None:
    bundle = build(
        load_config(write_config()), output=tmp_path / "m.nerve", bundle_only=True, say=print
    ).path
    runtime = tmp_path / "runtime"
    runtime.write_bytes(b"\x7fELF pretend runtime" * 1000)
    exe = append_bundle(runtime, bundle, tmp_path / "out" / "ner-tagger")
    assert exe.stat().st_mode & stat.S_IXUSR
    size = exe.stat().st_size
    assert size == runtime.stat().st_size + bundle.stat().st_size + TRAILER_SIZE
    assert find_appended(exe) == (runtime.stat().st_size, bundle.stat().st_size)
    assert find_appended(runtime) is None and find_appended(bundle) is None
    # The bundle is read straight from the executable's file.
    assert bundle_manifest(exe) == bundle_manifest(bundle)
    assert read_metadata(exe)["encoderfile_config"]["name"] == "ner-tagger"
    engine = nerve.load(open_bundle(exe, cache_dir=tmp_path / "cache"))
    reference = nerve.load(onnx_model_dir)
    assert engine(TEXT).to_dict()["entities"] == reference(TEXT).to_dict()["entities"]


def test_a_damaged_trailer_is_not_a_bundle(tmp_path: Path) -> None:
    runtime, bundle = tmp_path / "r", tmp_path / "b"
    runtime.write_bytes(b"r" * 100)
    bundle.write_bytes(b"b" * 50)
    exe = append_bundle(runtime, bundle, tmp_path / "e")
    data = bytearray(exe.read_bytes())
    data[-1] ^= 0xFF  # the length no longer matches the file
    exe.write_bytes(bytes(data))
    assert find_appended(exe) is None


def test_slice_file_reads_only_its_window(tmp_path: Path) -> None:
    path = tmp_path / "f"
    path.write_bytes(b"0123456789")
    with SliceFile(path, 3, 4) as f:
        assert f.read() == b"3456"
        f.seek(-2, 2)
        assert f.read(10) == b"56"
        assert f.tell() == 4


def test_runtime_spec_carries_no_model(tmp_path: Path) -> None:
    spec = write_spec(tmp_path, None, "nerve-runtime").read_text(encoding="utf-8")
    assert EMBEDDED_DIR not in spec  # the model is appended to the file later, not bundled
    assert "nerve/server/assets" in spec  # the server's page and icon are


def test_a_base_binary_that_is_not_a_nerve_runtime_is_a_notice(tmp_path: Path) -> None:
    notes: list[str] = []
    assert not usable_base_binary(Path("/bin/echo"), notes.append)
    assert notes and "is not a nerve runtime" in notes[0]
    fake = tmp_path / "old-runtime"
    fake.write_text('#!/bin/sh\necho \'{"nerve_version": "0.0.1", "target": "x"}\'\n')
    fake.chmod(0o755)
    notes.clear()
    assert not usable_base_binary(fake, notes.append)
    assert "is the runtime of nerve 0.0.1" in notes[0]
    right = tmp_path / "right-runtime"
    from nerve.standalone.target import host_target

    info = json.dumps({"nerve_version": nerve.__version__, "target": host_target()})
    right.write_text(f"#!/bin/sh\necho '{info}'\n")
    right.chmod(0o755)
    notes.clear()
    assert usable_base_binary(right, notes.append) and notes == []


def test_build_appends_to_a_given_base_binary(
    write_config: WriteConfig, tmp_path: Path, onnx_model_dir: Path
) -> None:
    """A usable --base-binary-path is what the model is appended to (no compile)."""
    from nerve.standalone.target import host_target

    info = json.dumps({"nerve_version": nerve.__version__, "target": host_target()})
    base = tmp_path / "base"
    base.write_text(f"#!/bin/sh\necho '{info}'\n")
    base.chmod(0o755)
    config = load_config(write_config(base_binary_path=str(base)))
    lines: list[str] = []
    out = build(config, output=tmp_path / "exe", say=lines.append).path
    assert out.read_bytes().startswith(base.read_bytes())
    assert "Appending the model to the runtime..." in lines
    assert read_metadata(out)["encoderfile_config"]["name"] == "ner-tagger"


@pytest.mark.parametrize("flag", ["--nerve-runtime-info"])
def test_runtime_info_flag(flag: str, capsys: pytest.CaptureFixture[str]) -> None:
    from nerve.standalone.main import main

    assert main([flag]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["nerve_version"] == nerve.__version__
