"""`nerve build --bundle-only`: the `.nerve` archive, its manifest and its verification; and
every way a build must stop with a clear message and no output file."""

from __future__ import annotations

import json
import shutil
import struct
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest

import nerve
from nerve.build import BuildError, build, load_config, read_metadata
from nerve.bundle import (
    MANIFEST_FILE,
    append_bundle,
    bundle_manifest,
    open_bundle,
    read_manifest,
    resolve_bundle,
)
from nerve.cli.main import main
from nerve.errors import ModelLoadError
from nerve.standalone.engine import load_embedded

WriteConfig = Callable[..., Path]
SOFTMAX = "function Postprocess(arr)\n  return arr:softmax(3)\nend\n"
TEXTS = ["Mozilla is headquartered in San Francisco, CA", "Yvon Chouinard founded Patagonia."]


def bundle(write_config: WriteConfig, tmp_path: Path, **kwargs: object) -> Path:
    out = tmp_path / "out" / "ner-tagger.nerve"
    config = load_config(write_config(**kwargs))
    lines: list[str] = []
    result = build(config, output=out, bundle_only=True, say=lines.append)
    assert lines[0] == "Validating model..."
    assert lines[-1] == f"✓ Build complete: {out}"
    assert result.path == out and result.size_bytes == out.stat().st_size
    return out


def test_bundle_roundtrip_gives_the_same_answers(
    write_config: WriteConfig, tmp_path: Path, onnx_model_dir: Path
) -> None:
    out = bundle(write_config, tmp_path, nerve={"aggregation": "max"})
    with zipfile.ZipFile(out) as archive:
        names = set(archive.namelist())
        manifest = json.loads(archive.read(MANIFEST_FILE))
    assert names == {MANIFEST_FILE, *manifest["files"]}
    assert {"model.onnx", "config.json", "tokenizer.json"} <= set(manifest["files"])
    assert manifest["name"] == "ner-tagger" and manifest["version"] == "1.0.0"
    assert manifest["defaults"] == {"aggregation": "max"}
    assert manifest["transform"] is None

    model_dir = open_bundle(out, cache_dir=tmp_path / "cache")
    assert model_dir.name == "ner-tagger"
    engine = nerve.load(model_dir)  # an ordinary model directory to every command
    reference = nerve.load(onnx_model_dir)
    assert engine.model_id == "ner-tagger"
    for strategy in ("simple", "max"):
        got = engine(TEXTS, aggregation_strategy=strategy)
        want = reference(TEXTS, aggregation_strategy=strategy)
        assert [r.to_dict() for r in got] == [r.to_dict() for r in want]
    # Opened again: the verified cache is reused.
    assert open_bundle(out, cache_dir=tmp_path / "cache") == model_dir


def test_softmax_transform_is_detected_as_probabilities(
    write_config: WriteConfig, tmp_path: Path, onnx_model_dir: Path
) -> None:
    out = bundle(write_config, tmp_path, transform=SOFTMAX)
    model_dir = open_bundle(out, cache_dir=tmp_path / "cache")
    manifest = read_manifest(model_dir)
    assert manifest is not None and manifest.transform is not None
    assert manifest.transform.output == "probabilities"
    got = load_embedded(model_dir)(TEXTS[0], aggregation_strategy="none")
    want = nerve.load(onnx_model_dir)(TEXTS[0], aggregation_strategy="none")
    assert [(e.label, e.start) for e in got.entities] == [(e.label, e.start) for e in want.entities]
    for a, b in zip(got.entities, want.entities, strict=True):
        assert a.score == pytest.approx(b.score, abs=1e-6)


def test_a_scaling_transform_is_detected_as_logits(
    write_config: WriteConfig, tmp_path: Path
) -> None:
    out = bundle(write_config, tmp_path, transform="function Postprocess(arr) return arr / 2 end")
    manifest = read_manifest(open_bundle(out, cache_dir=tmp_path / "cache"))
    assert manifest is not None and manifest.transform is not None
    assert manifest.transform.output == "logits"


def test_a_changed_archive_member_is_refused(write_config: WriteConfig, tmp_path: Path) -> None:
    out = bundle(write_config, tmp_path)
    tampered = tmp_path / "tampered.nerve"
    with zipfile.ZipFile(out) as src, zipfile.ZipFile(tampered, "w") as dst:
        for name in src.namelist():
            data = src.read(name)
            if name == "config.json":
                data = data.replace(b'"B-PER"', b'"B-XXX"')
            dst.writestr(name, data)
    with pytest.raises(ModelLoadError, match="config.json does not match its SHA-256"):
        open_bundle(tampered, cache_dir=tmp_path / "cache")
    assert not any((tmp_path / "cache").rglob("config.json"))  # nothing half-extracted


@pytest.mark.parametrize("extra", ["../evil.txt", "notes.txt"])
def test_members_outside_the_manifest_are_refused(
    write_config: WriteConfig, tmp_path: Path, extra: str
) -> None:
    out = bundle(write_config, tmp_path)
    with zipfile.ZipFile(out, "a") as archive:
        archive.writestr(extra, b"x")
    with pytest.raises(ModelLoadError, match="not in its manifest"):
        open_bundle(out, cache_dir=tmp_path / "cache")


def test_a_changed_cache_is_extracted_again(write_config: WriteConfig, tmp_path: Path) -> None:
    out = bundle(write_config, tmp_path)
    model_dir = open_bundle(out, cache_dir=tmp_path / "cache")
    (model_dir / "tokenizer.json").write_text("{}", encoding="utf-8")
    again = open_bundle(out, cache_dir=tmp_path / "cache")
    assert again == model_dir
    assert json.loads((again / "tokenizer.json").read_text(encoding="utf-8")) != {}


def test_not_a_bundle(tmp_path: Path) -> None:
    junk = tmp_path / "junk.nerve"
    junk.write_bytes(b"not a zip")
    with pytest.raises(ModelLoadError, match="not a .nerve bundle"):
        open_bundle(junk, cache_dir=tmp_path / "cache")
    with pytest.raises(ModelLoadError, match="does not exist"):
        open_bundle(tmp_path / "absent.nerve", cache_dir=tmp_path / "cache")


def _damage_member(archive_path: Path, name: str) -> None:
    """Flip two bytes in the middle of ``name``'s data (its CRC-32 no longer matches)."""
    # zipfile finds a zip behind a prefix (the runtime) too; its offsets are then the file's.
    with zipfile.ZipFile(archive_path) as archive:
        info = archive.getinfo(name)
    data = bytearray(archive_path.read_bytes())
    start = info.header_offset
    name_len, extra_len = struct.unpack("<HH", data[start + 26 : start + 30])
    middle = start + 30 + name_len + extra_len + info.compress_size // 2
    data[middle] ^= 0xFF
    data[middle + 1] ^= 0xFF
    archive_path.write_bytes(bytes(data))


def test_a_damaged_member_is_named_not_called_a_non_zip(
    write_config: WriteConfig, tmp_path: Path
) -> None:
    out = bundle(write_config, tmp_path)
    _damage_member(out, "model.onnx")
    with pytest.raises(ModelLoadError) as err:
        open_bundle(out, cache_dir=tmp_path / "cache")
    assert err.value.message.startswith(
        f"{out}: member model.onnx is corrupt (Bad CRC-32 for file 'model.onnx')"
    )
    assert "not a zip" not in err.value.message
    assert not list((tmp_path / "cache").rglob("*.partial-*"))
    # The same inside an executable (the bundle read from the executable's own file).
    runtime = tmp_path / "runtime"
    runtime.write_bytes(b"\x7fELF pretend runtime" * 100)
    good = bundle(write_config, tmp_path / "again")
    exe = append_bundle(runtime, good, tmp_path / "exe")
    _damage_member(exe, "config.json")
    assert bundle_manifest(exe).name == "ner-tagger"  # the manifest member is intact
    for read in (lambda: open_bundle(exe, cache_dir=tmp_path / "c2"), lambda: read_metadata(exe)):
        with pytest.raises(ModelLoadError, match=f"{exe}: member config.json is corrupt"):
            read()


def _refused(config: Path, capsys: pytest.CaptureFixture[str], *args: str) -> str:
    code = main(["build", "-f", str(config), "--bundle-only", *args])
    err = capsys.readouterr().err
    assert code == 2, err
    assert err.count("\n") == 1 and "Traceback" not in err
    return err


def test_the_output_may_not_overwrite_an_input(
    write_config: WriteConfig, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    lua = tmp_path / "post.lua"
    lua.write_text("function Postprocess(arr) return arr end\n", encoding="utf-8")
    patterns = tmp_path / "patterns.jsonl"
    patterns.write_text('{"label": "ORG", "pattern": "Mozilla"}\n', encoding="utf-8")
    base = tmp_path / "runtime"
    base.write_bytes(b"not a runtime")
    config = write_config(
        transform={"path": str(lua)},
        base_binary_path=str(base),
        nerve={"patterns": str(patterns)},
    )
    before = {p: p.read_bytes() for p in (config, lua, patterns, base)}
    for target, what in [
        (config, "the build config"),
        (lua, "the transform file (encoderfile.transform.path)"),
        (patterns, "the patterns file (nerve.patterns)"),
        (base, "the base binary (base_binary_path)"),
    ]:
        err = _refused(config, capsys, "-o", str(target))
        assert f"the output {target} (-o) is {what} {target}; writing it would overwrite" in err
    hard_link = tmp_path / "hard-link.yml"
    hard_link.hardlink_to(config)
    err = _refused(config, capsys, "-o", str(hard_link))
    assert "is the build config" in err
    assert {p: p.read_bytes() for p in before} == before


def test_an_output_inside_the_model_directory_is_found_through_dots_and_links(
    write_config: WriteConfig,
    tmp_path: Path,
    onnx_model_dir: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    model = tmp_path / "models" / "ner-model"
    shutil.copytree(onnx_model_dir, model)
    link = tmp_path / "link"
    link.symlink_to(model)
    files = sorted(p.name for p in model.iterdir())
    dotted = write_config(path=str(tmp_path / "models" / ".." / "models" / "ner-model"))
    err = _refused(dotted, capsys, "-o", str(model / "out.nerve"))
    assert f"is inside the model directory {model} (encoderfile.path)" in err
    err = _refused(write_config(path=str(model)), capsys, "-o", str(link / "out.nerve"))
    assert f"is inside the model directory {model}" in err
    err = _refused(write_config(path=str(link)), capsys, "-o", str(model / "out.nerve"))
    assert f"is inside the model directory {model}" in err
    assert sorted(p.name for p in model.iterdir()) == files


def test_a_directory_where_the_output_goes_names_where_the_path_came_from(
    write_config: WriteConfig,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(tmp_path)
    config = write_config()
    (tmp_path / "ner-tagger.nerve").mkdir()
    err = _refused(config, capsys)
    assert (
        f"the output {tmp_path / 'ner-tagger.nerve'} (the default from encoderfile.name) is a "
        "directory; give a file path with -o or encoderfile.output_path"
    ) in err
    (tmp_path / "dir").mkdir()
    err = _refused(write_config(output_path=str(tmp_path / "dir")), capsys)
    assert "(encoderfile.output_path) is a directory" in err
    err = _refused(config, capsys, "-o", str(tmp_path / "dir"))
    assert f"the output {tmp_path / 'dir'} (-o) is a directory; give a file path" in err


def test_more_threads_than_the_build_machine_has_is_a_note(
    write_config: WriteConfig, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("nerve.loader.usable_cpus", lambda: 1)
    lines: list[str] = []
    config = load_config(write_config(nerve={"threads": 4}))
    build(config, output=tmp_path / "t.nerve", bundle_only=True, say=lines.append)
    assert (
        "note: nerve.threads is 4 but this machine lets the build use 1 CPUs; the executable "
        "uses at most the CPUs of the machine it runs on"
    ) in lines
    manifest = read_manifest(open_bundle(tmp_path / "t.nerve", cache_dir=tmp_path / "cache"))
    assert manifest is not None and manifest.defaults["threads"] == 4  # the executable lowers it


# -- a build that cannot succeed stops early, clearly, and writes nothing ----------------------
def _copy_without(src: Path, dst: Path, missing: str) -> Path:
    dst.mkdir()
    for f in src.iterdir():
        if f.name != missing:
            (dst / f.name).write_bytes(f.read_bytes())
    return dst


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"model_type": "sequence_classification"}, "nerve builds only 'token_classification'"),
        ({"nerve": {"aggregaton": "max"}}, "unknown key(s) ['aggregaton'] in nerve"),
        ({"path": "/nonexistent/model"}, "does not exist"),
        (
            {"transform": "function Postprocess(arr"},
            "encoderfile.transform: the transform does not compile: transform:1:",
        ),
        (
            {"transform": "function Postprocess(arr) return arr:sum_axis(3) end"},
            "encoderfile.transform: Postprocess must return a tensor of the input's shape",
        ),
        (
            {
                "transform": "function Postprocess(arr) return arr end",
                "nerve": {"transform_output": "probabilities"},
            },
            "transform_output is probabilities, but on the probe texts",
        ),
        ({"nerve": {"precision": "int8"}}, "nerve.precision is int8 but the ONNX graph"),
    ],
)
def test_bad_builds_stop_with_a_message_and_no_output(
    write_config: WriteConfig, tmp_path: Path, kwargs: dict[str, object], message: str
) -> None:
    out = tmp_path / "out" / "ner-tagger.nerve"
    config = write_config(**kwargs)
    code = main(["build", "-f", str(config), "-o", str(out), "--bundle-only"])
    assert code == 2
    with pytest.raises(BuildError) as err:
        build(load_config(config), output=out, bundle_only=True, say=lambda _: None)
    assert message in err.value.message
    assert not out.exists()
    assert not list(tmp_path.rglob("*.partial-*"))


@pytest.mark.parametrize("missing", ["tokenizer.json", "config.json", "model.onnx"])
def test_a_model_directory_missing_a_file(
    write_config: WriteConfig, tmp_path: Path, onnx_model_dir: Path, missing: str
) -> None:
    model = _copy_without(onnx_model_dir, tmp_path / "partial-model", missing)
    config = load_config(write_config(path=str(model)))
    out = tmp_path / "ner-tagger.nerve"
    with pytest.raises(BuildError) as err:
        build(config, output=out, bundle_only=True, say=lambda _: None)
    expected = "has no weights" if missing == "model.onnx" else f"is missing {missing}"
    assert expected in err.value.message
    assert not out.exists()


def test_a_failed_build_leaves_an_existing_output_untouched(
    write_config: WriteConfig, tmp_path: Path
) -> None:
    out = tmp_path / "ner-tagger.nerve"
    out.write_bytes(b"previous build")
    config = load_config(write_config(transform="function Postprocess(arr) return nil end"))
    with pytest.raises(BuildError, match="Postprocess must return a Tensor"):
        build(config, output=out, bundle_only=True, say=lambda _: None)
    assert out.read_bytes() == b"previous build"


def test_build_from_safetensors_exports_on_the_way(
    write_config: WriteConfig, tmp_path: Path, tiny_model_dir: object
) -> None:
    hf_dir = tiny_model_dir("bert")  # type: ignore[operator]
    config = load_config(write_config(path=str(hf_dir), nerve={"precision": "int8"}))
    lines: list[str] = []
    out = tmp_path / "int8.nerve"
    build(config, output=out, bundle_only=True, say=lines.append)
    assert "Exporting to ONNX..." in lines
    manifest = read_manifest(open_bundle(out, cache_dir=tmp_path / "cache"))
    assert manifest is not None and manifest.precision == "int8"


def test_cli_bundle_only_and_the_resolver_hook(
    write_config: WriteConfig,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    out = tmp_path / "m.nerve"
    assert main(["build", "-f", str(write_config()), "-o", str(out), "--bundle-only"]) == 0
    progress = capsys.readouterr().err.splitlines()
    assert progress[0] == "Validating model..."
    assert f"✓ Build complete: {out}" in progress
    # resolve_bundle: what the model resolver calls, so every command accepts a .nerve file.
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    model_dir = resolve_bundle(out)
    assert model_dir.is_relative_to(tmp_path / "xdg" / "nerve" / "bundles")
    assert nerve.load(model_dir).model_id == "ner-tagger"
    assert resolve_bundle(tmp_path) == tmp_path  # anything else passes through


def test_a_bundle_under_any_name_is_a_model(
    write_config: WriteConfig, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """encoderfile's example config writes to `*.encoderfile`; `--bundle-only` wrote the
    archive there, and then nothing could open it ("is a file; a model is a directory")."""
    out = tmp_path / "build" / "ner-tagger.encoderfile"
    config = write_config(output_path=str(out))
    assert main(["build", "-f", str(config), "--bundle-only"]) == 0
    capsys.readouterr()
    assert resolve_bundle(out).is_dir()
    ours = nerve.load(out)(TEXTS)
    assert ours == nerve.load(resolve_bundle(tmp_path / "build" / "ner-tagger.encoderfile"))(TEXTS)
    assert main(["infer", "-m", str(out), TEXTS[0]]) == 0
    assert json.loads(capsys.readouterr().out)[0]["text"] == TEXTS[0]
    # A zip that is not a bundle stays a file, refused as before.
    other = tmp_path / "other.zip"
    with zipfile.ZipFile(other, "w") as archive:
        archive.writestr("config.json", "{}")
    assert resolve_bundle(other) == other
    with pytest.raises(ModelLoadError, match="is a file; a model is a directory"):
        nerve.load(other)
