"""The pattern layer on its own: file reading, word-bounded matching, overlap policies."""

from __future__ import annotations

import json
import pickle
from pathlib import Path

import pytest

pytest.importorskip("ahocorasick")

from nerve.errors import DataError, InvalidInput
from nerve.patterns import Pattern, Patterns, merge, read_patterns
from nerve.types import Entity


def spans(text: str, entities: object) -> list[tuple[str, str]]:
    return [(e.label, text[e.start : e.end]) for e in entities]  # type: ignore[attr-defined]


def write(tmp_path: Path, *lines: str) -> Path:
    path = tmp_path / "patterns.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_reads_labels_ids_and_case_flags(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        '{"label": "ORG", "pattern": "Amazon Web Services"}',
        "",
        '{"label": "ORG", "pattern": "aws", "id": "aws", "ignore_case": true}',
    )
    got = read_patterns(path)
    assert [(p.label, p.text, p.id, p.ignore_case) for p in got] == [
        ("ORG", "Amazon Web Services", None, False),
        ("ORG", "aws", "aws", True),
    ]
    assert got[1].where == f"{path}:3"
    # The global flag is the default of lines that do not say.
    assert [p.ignore_case for p in read_patterns(path, ignore_case=True)] == [True, True]


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("{not json", r":2: not a JSON object"),
        ('{"label": "ORG", "n": ' + "1" * 4301 + "}", r":2: .*a number has more than 4,300"),
        ('["ORG", "x"]', r":2: expected a JSON object"),
        ('{"pattern": "x"}', r":2: missing 'label'"),
        ('{"label": "ORG"}', r":2: missing 'pattern'"),
        ('{"label": "ORG", "pattern": ""}', r":2: 'pattern' must be a non-empty string"),
        ('{"label": "ORG", "pattern": "  "}', r":2: 'pattern' must be a non-empty string"),
        ('{"label": "", "pattern": "x"}', r":2: 'label' must be a non-empty string"),
        ('{"label": "B-ORG", "pattern": "x"}', r":2: 'label' is an entity type such as 'ORG'"),
        ('{"label": "ORG", "pattern": [{"LOWER": "x"}]}', r":2: 'pattern' must be a phrase"),
        ('{"label": "ORG", "pattern": "x", "colour": 1}', r":2: unknown key\(s\) \['colour'\]"),
        ('{"label": "ORG", "pattern": "x", "ignore_case": "yes"}', r":2: 'ignore_case' must be"),
    ],
)
def test_bad_lines_name_file_and_line(tmp_path: Path, line: str, message: str) -> None:
    path = write(tmp_path, '{"label": "ORG", "pattern": "fine"}', line)
    with pytest.raises(DataError, match=message) as info:
        read_patterns(path)
    assert info.value.message.startswith(f"{path}:2: ")
    assert "\n" not in info.value.message


def test_unreadable_files(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="does not exist"):
        read_patterns(tmp_path / "missing.jsonl")
    with pytest.raises(DataError, match="is a directory"):
        read_patterns(tmp_path)
    binary = tmp_path / "b.jsonl"
    binary.write_bytes(b"\xff\xfe\x00")
    with pytest.raises(DataError, match="not UTF-8"):
        read_patterns(binary)


def test_one_phrase_gets_one_label(tmp_path: Path) -> None:
    path = write(
        tmp_path, '{"label": "ORG", "pattern": "Apple"}', '{"label": "FRUIT", "pattern": "Apple"}'
    )
    with pytest.raises(DataError, match=r":2: pattern 'Apple' is already labelled ORG at .*:1"):
        Patterns.from_jsonl(path)


def test_matches_respect_word_boundaries() -> None:
    rules = Patterns([Pattern("LOC", "Paris"), Pattern("ORG", "AT&T"), Pattern("MISC", "C++")])
    text = "Parisian Paris, Paris's AT&T! xParis Paris_ C++ and C++x."
    assert spans(text, rules.find(text)) == [
        ("LOC", "Paris"),
        ("LOC", "Paris"),
        ("ORG", "AT&T"),
        ("MISC", "C++"),
        ("MISC", "C++"),
    ]
    starts = [e.start for e in rules.find(text)]
    assert starts == [9, 16, 24, 44, 52]


def test_case_sensitive_and_insensitive() -> None:
    exact = Patterns([Pattern("ORG", "Apple")])
    loose = Patterns([Pattern("ORG", "Apple", ignore_case=True)])
    text = "apple APPLE Apple"
    assert [e.start for e in exact.find(text)] == [12]
    assert [e.start for e in loose.find(text)] == [0, 6, 12]
    # Characters that lower-case to two code points do not shift offsets.
    turkish = "İİ Apple"
    assert spans(turkish, loose.find(turkish)) == [("ORG", "Apple")]


def test_overlapping_patterns_longest_then_leftmost() -> None:
    rules = Patterns(
        [
            Pattern("ORG", "Amazon"),
            Pattern("ORG", "Amazon Web Services", id="aws"),
            Pattern("PRODUCT", "Web Services Hub"),
        ]
    )
    text = "Amazon Web Services Hub"
    found = rules.find(text)
    assert spans(text, found) == [("ORG", "Amazon Web Services")]
    assert found[0].score == 1.0 and found[0].pattern_id == "aws"


MODEL = [Entity("PER", 0.9, 0, 6, "Amazon"), Entity("LOC", 0.8, 24, 29, "Paris")]
TEXT = "Amazon Web Services hit Paris and Berlin"
RULES = [Entity("ORG", 1.0, 0, 19, "Amazon Web Services"), Entity("LOC", 1.0, 34, 40, "Berlin")]


def test_overlap_policies() -> None:
    assert spans(TEXT, merge(MODEL, RULES, "rules")) == [
        ("ORG", "Amazon Web Services"),
        ("LOC", "Paris"),
        ("LOC", "Berlin"),
    ]
    assert spans(TEXT, merge(MODEL, RULES, "model")) == [
        ("PER", "Amazon"),
        ("LOC", "Paris"),
        ("LOC", "Berlin"),
    ]
    shorter_rule = [Entity("ORG", 1.0, 0, 3, "Ama")]
    assert spans(TEXT, merge(MODEL, shorter_rule, "longest")) == [
        ("PER", "Amazon"),
        ("LOC", "Paris"),
    ]
    assert spans(TEXT, merge(MODEL, RULES, "longest"))[0] == ("ORG", "Amazon Web Services")
    # Equal length: the rule wins.
    same = [Entity("ORG", 1.0, 0, 6, "Amazon")]
    assert spans(TEXT, merge(MODEL, same, "longest"))[0] == ("ORG", "Amazon")


def test_apply_drops_ignored_labels_and_keeps_model_order() -> None:
    rules = Patterns([Pattern("ORG", "Amazon Web Services"), Pattern("MISC", "Berlin")])
    merged = rules.apply(TEXT, MODEL, ignore_labels=("O", "MISC"))
    assert spans(TEXT, merged) == [("ORG", "Amazon Web Services"), ("LOC", "Paris")]


def test_bad_overlap_policy() -> None:
    with pytest.raises(InvalidInput, match="unknown patterns overlap policy 'both'"):
        Patterns([], overlap="both")


def test_pickles_as_its_pattern_list() -> None:
    rules = Patterns([Pattern("ORG", "aws", ignore_case=True)], overlap="longest")
    again = pickle.loads(pickle.dumps(rules))
    assert again.overlap == "longest" and len(again) == 1
    assert spans("AWS", again.find("AWS")) == [("ORG", "AWS")]


def test_hundred_thousand_patterns_match_exactly(tmp_path: Path) -> None:
    """Correctness at scale (speed is measured in scripts/bench_patterns.py, not here)."""
    path = tmp_path / "many.jsonl"
    with path.open("w", encoding="utf-8") as out:
        for i in range(100_000):
            out.write(json.dumps({"label": "ORG", "pattern": f"Company {i:05d} Ltd"}) + "\n")
    rules = Patterns.from_jsonl(path)
    assert len(rules) == 100_000
    text = "Company 04242 Ltd sued Company 99999 Ltd, not Company 123 Ltd or Company 000001 Ltd."
    assert spans(text, rules.find(text)) == [
        ("ORG", "Company 04242 Ltd"),
        ("ORG", "Company 99999 Ltd"),
    ]


def test_patterns_made_in_python_are_checked_as_file_lines_are() -> None:
    """They skipped every check: an empty phrase failed inside the matcher at inference."""
    for args, message in (
        (("PRODUCT", ""), "'pattern' must be a non-empty string"),
        (("B-ORG", "Paris"), "'label' is an entity type such as 'ORG'"),
        ((5, "Paris"), "'label' must be a non-empty string, got 5"),
        (("LOC", " Paris "), "has spaces at its ends"),
    ):
        with pytest.raises(DataError, match=message):
            Pattern(*args)
    with pytest.raises(InvalidInput, match="item 0 is a dict"):
        Patterns([{"label": "ORG", "pattern": "Graviton4"}])  # type: ignore[list-item]
    with pytest.raises(InvalidInput, match="got NoneType"):
        Patterns(None)  # type: ignore[arg-type]
    assert len(Patterns([Pattern("ORG", "Graviton4")])) == 1
