"""``nerve infer`` input: stdin, formats decided not guessed, BOM, carried fields, output
format from ``-o`` (issue 12, item 2), ``--ignore-labels`` and truncation marks (item 4)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from nerve.io.formats import NOT_READ

from .conftest import nerve_process, run_cli


def _rows(text: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def _spans(row: dict[str, object]) -> list[tuple[str, str]]:
    return [(e["text"], e["label"]) for e in row["entities"]]  # type: ignore[index, attr-defined]


def test_piped_stdin_is_read_without_arguments() -> None:
    done = nerve_process("infer", stdin=b"Tim Cook visited Paris.\nAngela Merkel\n")
    assert done.returncode == 0, done.stderr
    rows = _rows(done.stdout.decode())
    assert [r["text"] for r in rows] == ["Tim Cook visited Paris.", "Angela Merkel"]
    assert ("Tim Cook", "PER") in _spans(rows[0])


def test_no_input_at_all_is_a_one_line_error() -> None:
    done = nerve_process("infer")  # stdin is /dev/null: nothing piped
    assert done.returncode == 2
    assert done.stderr.decode().count("\n") == 1 and b"no input" in done.stderr


def test_text_starting_with_a_brace_is_text(capsys: pytest.CaptureFixture[str]) -> None:
    done = nerve_process("infer", "-i", "-", stdin=b"{x} Tim Cook\n")
    assert done.returncode == 0, done.stderr
    (row,) = _rows(done.stdout.decode())
    assert row["text"] == "{x} Tim Cook" and ("Tim Cook", "PER") in _spans(row)


def test_bom_is_removed_and_offsets_count_without_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    plain = tmp_path / "in.txt"
    plain.write_bytes("\ufeffTim Cook visited Paris.\n".encode())
    code, out, err = run_cli(capsys, "infer", "-i", str(plain))
    assert code == 0, err
    (row,) = _rows(out)
    assert row["text"] == "Tim Cook visited Paris."
    assert [(e["start"], e["end"]) for e in row["entities"]][0] == (0, 8)  # type: ignore[index]
    jsonl = tmp_path / "in.jsonl"
    jsonl.write_bytes('\ufeff{"text": "Tim Cook visited Paris."}\n'.encode())
    code, out, err = run_cli(capsys, "infer", "-i", str(jsonl))
    assert code == 0, err
    assert _rows(out)[0]["text"] == "Tim Cook visited Paris."


def test_every_jsonl_field_is_carried(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    jsonl = tmp_path / "in.jsonl"
    lines = [
        {"id": "a-1", "text": "Tim Cook visited Paris.", "meta": {"source": "wire", "n": [1, 2]}},
        {"text": "Angela Merkel", "id": 2},
    ]
    jsonl.write_text("".join(json.dumps(x) + "\n" for x in lines))
    code, out, err = run_cli(capsys, "infer", "-i", str(jsonl))
    assert code == 0, err
    rows = _rows(out)
    assert [(r["id"], r.get("meta")) for r in rows] == [
        ("a-1", {"source": "wire", "n": [1, 2]}),
        (2, None),
    ]
    code, out, _ = run_cli(capsys, "infer", "-i", str(jsonl), "-f", "json")
    assert [r["id"] for r in json.loads(out)] == ["a-1", 2]


def test_input_field_named_like_the_output_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    jsonl = tmp_path / "in.jsonl"
    jsonl.write_text('{"text": "Paris", "entities": []}\n')
    code, _, err = run_cli(capsys, "infer", "-i", str(jsonl))
    assert code == 2 and f"{jsonl}:1" in err and "'entities'" in err


def test_input_format_flag_overrides_the_extension(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    lines = tmp_path / "in.txt"
    lines.write_text('{"text": "Paris", "id": 1}\n')
    code, out, _ = run_cli(capsys, "infer", "-i", str(lines))
    assert code == 0 and _rows(out)[0]["text"] == '{"text": "Paris", "id": 1}'
    code, out, _ = run_cli(capsys, "infer", "-i", str(lines), "--input-format", "jsonl")
    assert code == 0 and _rows(out)[0] == {**_rows(out)[0], "text": "Paris", "id": 1}


def test_parquet_input_carries_its_columns(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    path = tmp_path / "in.parquet"
    table = pa.table({"id": [10, 11], "text": ["Tim Cook visited Paris.", "Angela Merkel"]})
    pq.write_table(table, path)
    code, out, err = run_cli(capsys, "infer", "-i", str(path))
    assert code == 0, err
    rows = _rows(out)
    assert [(r["id"], r["text"]) for r in rows] == [
        (10, "Tim Cook visited Paris."),
        (11, "Angela Merkel"),
    ]
    assert ("Angela Merkel", "PER") in _spans(rows[1])


def test_values_json_has_no_form_for_are_written_as_batch_writes_them(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """infer wrote Python's str() (b'\\x00\\xff', a timestamp with a space) where batch
    writes base64 and ISO 8601, and NaN / Infinity, which are not JSON."""
    import datetime

    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    path = tmp_path / "in.parquet"
    when = datetime.datetime(2020, 1, 1, tzinfo=datetime.timezone.utc)
    table = pa.table(
        {
            "text": ["Tim Cook"],
            "bin": [b"\x00\xff"],
            "ts": pa.array([when], pa.timestamp("s", tz="UTC")),
            "x": [float("nan")],
        }
    )
    pq.write_table(table, path)
    for fmt in ("jsonl", "json"):
        code, out, err = run_cli(capsys, "infer", "-i", str(path), "-f", fmt)
        assert code == 0, err
        assert "NaN" not in out
        row = _rows(out)[0] if fmt == "jsonl" else json.loads(out)[0]
        assert (row["bin"], row["ts"], row["x"]) == ("AP8=", "2020-01-01T00:00:00+00:00", None)


def test_a_jsonl_line_holding_nan_is_invalid_json(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    lines = tmp_path / "in.jsonl"
    lines.write_text('{"text": "a", "x": NaN}\n', encoding="utf-8")
    code, _, err = run_cli(capsys, "infer", "-i", str(lines))
    assert code == 2
    assert err.strip().endswith(f"{lines}:1: invalid JSON: NaN is not a JSON value")


def test_parquet_without_pyarrow_names_the_extra(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "pyarrow.parquet", None)  # import fails
    path = tmp_path / "in.parquet"
    path.write_bytes(b"PAR1")
    code, _, err = run_cli(capsys, "infer", "-i", str(path))
    assert code == 2 and "pip install 'nerve[parquet]'" in err and err.count("\n") == 1


@pytest.mark.parametrize(
    ("name", "check"),
    [
        ("out.conll", lambda s: s.splitlines()[0] == "Tim\tB-PER"),
        ("out.html", lambda s: s.startswith("<!DOCTYPE html>")),
        ("out.jsonl", lambda s: json.loads(s.splitlines()[0])["text"] == "Tim Cook"),
        ("out.json", lambda s: json.loads(s)[0]["text"] == "Tim Cook"),
    ],
)
def test_output_format_follows_the_extension(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str, check: object
) -> None:
    target = tmp_path / name
    assert run_cli(capsys, "infer", "Tim Cook", "-o", str(target))[0] == 0
    assert check(target.read_text())  # type: ignore[operator]


def test_ignore_labels_adds_to_o(capsys: pytest.CaptureFixture[str]) -> None:
    text = "Tim Cook visited Paris with German officials."
    code, out, _ = run_cli(capsys, "infer", text, "-a", "none", "--ignore-labels", "B-MISC")
    labels = {e["label"] for e in json.loads(out)[0]["entities"]}
    assert code == 0 and labels and "O" not in labels and "B-MISC" not in labels
    code, out, _ = run_cli(capsys, "infer", text, "-a", "none", "--keep-o")
    assert "O" in {e["label"] for e in json.loads(out)[0]["entities"]}


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["--ignore-labels", "PERSON"], "'PERSON' matches no label of this model"),
        # As in the pipeline, aggregated entities are filtered by type, tokens by tag.
        (["--ignore-labels", "B-PER"], "entity types with aggregation"),
        (["-a", "none", "--ignore-labels", "PER"], "tags with --aggregation none: B-LOC"),
    ],
)
def test_ignore_labels_that_drop_nothing_are_refused(
    capsys: pytest.CaptureFixture[str], options: list[str], message: str
) -> None:
    code, out, err = run_cli(capsys, "infer", "Tim Cook visited Paris.", *options)
    assert code == 2 and out == "" and message in err and "Traceback" not in err


def test_pattern_labels_may_be_ignored(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    patterns = tmp_path / "p.jsonl"
    patterns.write_text('{"label": "CITY", "pattern": "Paris"}\n', encoding="utf-8")
    text = "Tim Cook visited Paris."
    code, out, err = run_cli(
        capsys, "infer", text, "--patterns", str(patterns), "--ignore-labels", "CITY,LOC"
    )
    assert code == 0, err
    assert [e["text"] for e in json.loads(out)[0]["entities"]] == ["Tim Cook"]


def test_truncated_words_are_marked_not_read_in_conll(capsys: pytest.CaptureFixture[str]) -> None:
    words = ["Paris"] * 300  # far beyond the default model's 128-token window
    code, out, err = run_cli(capsys, "infer", " ".join(words), "--truncate", "-f", "conll")
    assert code == 0, err
    tags = [line.split("\t")[1] for line in out.splitlines() if line]
    assert len(tags) == 300
    read = [t for t in tags if t != NOT_READ]
    assert 100 < len(read) < 130 and all(t in ("B-LOC", "I-LOC", "O") for t in read)
    assert tags[len(read) :] == [NOT_READ] * (300 - len(read))  # the cut-off tail, in order
    # Without --truncate every word is read (windows), so no mark at all.
    code, out, _ = run_cli(capsys, "infer", " ".join(words), "-f", "conll")
    assert NOT_READ not in [line.split("\t")[1] for line in out.splitlines() if line]
