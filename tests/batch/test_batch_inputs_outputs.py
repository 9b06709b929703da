"""``nerve batch`` with the inputs and flags a practitioner hit: compressed and mislabelled
files refused before any work, byte-order marks, the flags shared with ``nerve infer``
(patterns, raw scores, the ONNX graph), option errors before ``_job.json``, and values
JSON or Parquet has no plain form for."""

from __future__ import annotations

import datetime
import decimal
import gzip
import json
from pathlib import Path

import pytest

pa = pytest.importorskip("pyarrow", reason="nerve batch needs pyarrow: pip install 'nerve[batch]'")
pq = pytest.importorskip("pyarrow.parquet")

from nerve.cli.main import main  # noqa: E402
from support.ray_corpus import read_errors, read_parts  # noqa: E402


def batch(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    try:
        code = main(["batch", "--no-progress", *args])
    except SystemExit as exc:  # argparse's own refusals (a flag's type)
        code = int(exc.code or 0)
    return code, capsys.readouterr().err


def test_a_compressed_input_is_refused_before_any_work(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    lines = [json.dumps({"id": i, "text": f"Person {i} met Angela Merkel."}) for i in range(40)]
    (tmp_path / "in.jsonl.gz").write_bytes(gzip.compress("\n".join(lines).encode()))
    code, err = batch(capsys, str(tmp_path / "in.jsonl.gz"), "-o", str(tmp_path / "out"))
    assert code == 2 and "a gzip-compressed file" in err and "decompress it first" in err
    assert not (tmp_path / "out").exists()  # 36 of 40 rows were lost silently before


def test_a_file_that_is_not_parquet_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "fake.parquet").write_text("not parquet\n")
    code, err = batch(capsys, str(tmp_path / "fake.parquet"), "-o", str(tmp_path / "out"))
    assert code == 2 and "not a Parquet file (no PAR1 header)" in err and "Traceback" not in err


def test_a_byte_order_mark_is_not_part_of_the_first_record(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bom = "\ufeff".encode()
    (tmp_path / "a.jsonl").write_bytes(bom + b'{"id": 1, "text": "Tim Cook visited Paris."}\r\n')
    (tmp_path / "b.txt").write_bytes(bom + b"Tim Cook visited Paris.\n")
    for name in ("a.jsonl", "b.txt"):
        out = tmp_path / f"out-{name}"
        assert batch(capsys, str(tmp_path / name), "-o", str(out))[0] == 0
        [row] = read_parts(out)
        assert row["text"] == "Tim Cook visited Paris." and read_errors(out) == []
        assert (row["entities"][0]["start"], row["entities"][0]["text"]) == (0, "Tim Cook")


def test_patterns_raw_scores_and_the_onnx_graph_are_applied(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "t.txt").write_text("Apple bought Shazam.\n")
    (tmp_path / "p.jsonl").write_text('{"label": "PRODUCT", "pattern": "Shazam"}\n')
    out = tmp_path / "out"
    args = ["--patterns", str(tmp_path / "p.jsonl"), "--raw-scores"]
    assert batch(capsys, str(tmp_path / "t.txt"), "-o", str(out), *args)[0] == 0
    [row] = read_parts(out)
    assert {(e["text"], e["label"]) for e in row["entities"]} >= {("Shazam", "PRODUCT")}
    apple = next(e for e in row["entities"] if e["text"] == "Apple")
    assert len(apple["raw_scores"]) == 9  # the default model's labels
    assert json.loads((out / "_job.json").read_text())["patterns"]["path"] == str(
        tmp_path / "p.jsonl"
    )
    for bad, said in (
        (["--onnx-file", "bogus.onnx"], "no ONNX graph 'bogus.onnx'"),
        (["--patterns", str(tmp_path / "none.jsonl")], "does not exist"),
    ):
        code, err = batch(capsys, str(tmp_path / "t.txt"), "-o", str(tmp_path / "o2"), *bad)
        assert code == 2 and said in err
        assert not (tmp_path / "o2").exists()


@pytest.mark.parametrize(
    ("flags", "said"),
    [
        (["--window", "0"], "argument --window: must be an integer >= 3, got 0"),
        (["--window", "100000"], "exceeds the model's limit"),
        (["--stride", "1000"], "stride 1000 must be smaller"),
    ],
)
def test_a_bad_option_fails_before_the_job_is_recorded(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], flags: list[str], said: str
) -> None:
    (tmp_path / "t.txt").write_text("Paris\n")
    out = tmp_path / "out"
    code, err = batch(capsys, str(tmp_path / "t.txt"), "-o", str(out), *flags)
    assert code == 2 and said in err
    assert not (out / "_job.json").exists()  # the corrected command then runs as a new job
    assert batch(capsys, str(tmp_path / "t.txt"), "-o", str(out))[0] == 0


def test_values_without_a_plain_json_or_parquet_form_are_kept(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pq.write_table(
        pa.table(
            {
                "id": [1],
                "text": ["Tim Cook visited Paris."],
                "ts": pa.array([datetime.datetime(2020, 1, 2, 3, 4)], pa.timestamp("ms")),
                "price": pa.array([decimal.Decimal("1.50")], pa.decimal128(10, 2)),
                "blob": [b"xy"],
            }
        ),
        str(tmp_path / "typed.parquet"),
    )
    out = tmp_path / "out"
    assert batch(capsys, str(tmp_path / "typed.parquet"), "-o", str(out))[0] == 0
    [row] = read_parts(out)
    assert (row["ts"], row["price"], row["blob"]) == ("2020-01-02T03:04:00", "1.50", "eHk=")

    lines = [
        '{"id": 1, "text": "Tim Cook visited Paris."}',
        '{"id": "x2", "text": "Apple bought Shazam.", "lang": "en"}',
        '{"id": 3, "text": "Hi", "note": "\\ud800"}',
    ]
    (tmp_path / "mixed.jsonl").write_text("\n".join(lines) + "\n")
    jsonl_out, parquet_out = tmp_path / "j", tmp_path / "p"
    assert batch(capsys, str(tmp_path / "mixed.jsonl"), "-o", str(jsonl_out))[0] == 0
    assert [r["id"] for r in read_parts(jsonl_out)] == [1, "x2", 3]
    assert read_parts(jsonl_out)[2]["note"] == "\ud800"  # escaped in the file, read back
    args = ["-o", str(parquet_out), "-f", "parquet"]
    assert batch(capsys, str(tmp_path / "mixed.jsonl"), *args)[0] == 0
    table = pq.read_table(str(parquet_out))
    assert table.column("id").to_pylist() == ["1", '"x2"', "3"]  # one type: JSON text
    assert table.column("lang").to_pylist() == [None, "en", None]  # not only the first row's
    assert table.column("note").to_pylist() == [None, None, "\\ud800"]


def test_an_output_inside_an_input_directory_or_under_a_file_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "a.txt").write_text("Paris\n")
    code, err = batch(capsys, str(corpus), "-o", str(corpus / "tagged"))
    assert code == 2 and "is inside the input directory" in err
    (tmp_path / "a-file").write_text("x")
    code, err = batch(capsys, str(corpus), "-o", str(tmp_path / "a-file" / "out"))
    assert code == 2 and "cannot create the output directory (--output)" in err


def test_a_dictionary_encoded_text_column_is_read(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """What a pandas "category" column becomes in Parquet."""
    texts = pa.array(["Tim Cook visited Paris.", "Tim Cook visited Paris."]).dictionary_encode()
    pq.write_table(pa.table({"id": [1, 2], "text": texts}), str(tmp_path / "cat.parquet"))
    out = tmp_path / "out"
    assert batch(capsys, str(tmp_path / "cat.parquet"), "-o", str(out))[0] == 0
    assert [r["entities"][0]["text"] for r in read_parts(out)] == ["Tim Cook", "Tim Cook"]


def test_the_text_field_check_reads_a_first_line_of_any_length(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A first line over 1 MiB skipped the check: every row then failed one by one."""
    first = json.dumps({"id": 1, "body": "x" * (1 << 20)})
    (tmp_path / "big.jsonl").write_text(first + "\n" + json.dumps({"id": 2, "body": "Paris"}))
    code, err = batch(capsys, str(tmp_path / "big.jsonl"), "-o", str(tmp_path / "out"))
    assert code == 2 and "the first record has no 'text' field" in err
    assert not (tmp_path / "out").exists()


def test_parquet_parts_keep_the_input_types_in_every_shard(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A column null throughout one shard was written as type null there (and float32 as
    double): pandas and pyarrow.dataset then refused to read the output directory."""
    pd = pytest.importorskip("pandas")
    ds = pytest.importorskip("pyarrow.dataset")
    n = 12
    source = pa.table(
        {
            # The first shard's texts are all missing: that shard is all errors, no rows.
            "text": pa.array([None] * 4 + ["Tim Cook visited Paris."] * (n - 4), pa.string()),
            "extra": pa.array([None] * 8 + [7] * (n - 8), pa.int64()),
            "ratio": pa.array([None] * 8 + [0.5] * (n - 8), pa.float32()),
            "when": pa.array([datetime.datetime(2020, 1, 2)] * n, pa.timestamp("ms", tz="UTC")),
        }
    )
    pq.write_table(source, str(tmp_path / "in.parquet"), row_group_size=4)
    out = tmp_path / "out"
    args = ["-o", str(out), "-f", "parquet", "--shard-rows", "4", "--raw-scores"]
    code, err = batch(capsys, str(tmp_path / "in.parquet"), *args)
    assert code == 0, err
    parts = sorted(out.glob("part-*.parquet"))
    assert len(parts) == 3
    schemas = [pq.read_schema(str(p)) for p in parts]
    assert all(s.equals(schemas[0]) for s in schemas)  # one schema, the empty shard's too
    assert schemas[0].field("extra").type == pa.int64()
    assert schemas[0].field("ratio").type == pa.float32()
    assert schemas[0].field("when").type == pa.timestamp("ms", tz="UTC")
    assert pq.read_table(str(parts[0])).num_rows == 0  # its rows are in _errors
    table = ds.dataset(str(out), format="parquet").to_table()
    assert table.num_rows == n - 4
    assert table.column("extra").to_pylist() == [None] * 4 + [7] * 4
    frame = pd.read_parquet(str(out))
    assert len(frame) == n - 4 and frame["text"].tolist() == ["Tim Cook visited Paris."] * 8


def test_jsonl_parts_read_as_one_table_with_merged_schemas(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """What docs/ray.md tells a reader of a JSONL input's Parquet parts to do."""
    ds = pytest.importorskip("pyarrow.dataset")
    rows = [{"text": "Tim Cook visited Paris.", "extra": None}] * 4
    rows += [{"text": "Tim Cook visited Paris.", "extra": 7}] * 4
    (tmp_path / "in.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    out = tmp_path / "out"
    args = ["-o", str(out), "-f", "parquet", "--shard-rows", "4"]
    assert batch(capsys, str(tmp_path / "in.jsonl"), *args)[0] == 0
    parts = sorted(str(p) for p in out.glob("part-*.parquet"))
    types = [pq.read_schema(p).field("extra").type for p in parts]
    assert types == [pa.null(), pa.int64()]  # each part's own values
    schema = pa.unify_schemas([pq.read_schema(p) for p in parts], promote_options="permissive")
    table = ds.dataset(parts, schema=schema).to_table()
    assert table.column("extra").to_pylist() == [None] * 4 + [7] * 4


def test_ignore_labels_the_model_cannot_produce_are_refused_before_any_output(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """As nerve infer refuses them: the name would drop nothing, silently."""
    (tmp_path / "in.jsonl").write_text('{"text": "Tim Cook visited Paris."}\n')
    out = tmp_path / "out"
    code, err = batch(
        capsys, str(tmp_path / "in.jsonl"), "-o", str(out), "--ignore-labels", "PERSON"
    )
    assert code == 2 and "--ignore-labels: 'PERSON' matches no label of this model" in err
    assert not out.exists()
    code, err = batch(capsys, str(tmp_path / "in.jsonl"), "-o", str(out), "--ignore-labels", "PER")
    assert code == 0, err
    assert [e["label"] for e in read_parts(out)[0]["entities"]] == ["LOC"]


def test_fields_parquet_cannot_hold_are_written_as_json_text(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """An empty object and an integer beyond 64 bits ended the job with a traceback (Arrow
    reads them, Parquet cannot write them), and --resume crashed the same way every time."""
    lines = [
        {"id": 1, "text": "Tim Cook visited Paris.", "m": {}, "big": 10**30},
        {"id": 2, "text": "Tim Cook visited Paris.", "m": [{}], "big": 1},
    ]
    corpus = tmp_path / "in.jsonl"
    corpus.write_text("".join(json.dumps(r) + "\n" for r in lines), encoding="utf-8")
    out = tmp_path / "out"
    code, err = batch(capsys, str(corpus), "-o", str(out), "-f", "parquet")
    assert code == 0, err
    rows = pq.read_table(str(next(out.glob("part-*.parquet")))).to_pylist()
    assert [json.loads(r["m"]) for r in rows] == [{}, [{}]]
    assert [json.loads(r["big"]) for r in rows] == [10**30, 1]
    assert all(r["entities"] for r in rows)


def test_json_output_is_strict_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A Parquet duration ended the job with "timedelta has no JSON form"; NaN and infinite
    floats were written as NaN / Infinity, which strict JSON readers refuse."""
    source = pa.table(
        {
            "text": ["Tim Cook visited Paris.", "Tim Cook visited Paris."],
            "took": pa.array([90, -1], pa.duration("s")),
            "x": pa.array([float("nan"), float("inf")], pa.float64()),
        }
    )
    pq.write_table(source, str(tmp_path / "in.parquet"))
    out = tmp_path / "out"
    code, err = batch(capsys, str(tmp_path / "in.parquet"), "-o", str(out))
    assert code == 0, err
    text = next(out.glob("part-*.jsonl")).read_text(encoding="utf-8")
    rows = [json.loads(line, parse_constant=pytest.fail) for line in text.splitlines()]
    assert [(r["took"], r["x"]) for r in rows] == [("PT90S", None), ("-PT1S", None)]
