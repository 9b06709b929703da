"""Fixtures for the pattern tests: a patterns file and the checks every surface shares."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

TEXT = "Amazon Web Services opened an office in Paris, says Tim Cook."
RULE = ("ORG", "Amazon Web Services")


@pytest.fixture
def patterns_file(tmp_path: Path) -> Path:
    path = tmp_path / "patterns.jsonl"
    path.write_text(
        '{"label": "ORG", "pattern": "Amazon Web Services", "id": "aws"}\n'
        '{"label": "ORG", "pattern": "nothing here matches", "ignore_case": true}\n',
        encoding="utf-8",
    )
    return path


def check_merged(with_rules: list[dict[str, Any]], without: list[dict[str, Any]]) -> None:
    """``with_rules`` (nerve's entity dicts) is ``without`` under the ``rules`` policy: the
    pattern's span is there with score 1.0 and its id, model entities overlapping it are
    gone, every other model entity is unchanged."""
    start = TEXT.index(RULE[1])
    end = start + len(RULE[1])
    rule = [e for e in with_rules if e.get("pattern_id") == "aws"]
    assert len(rule) == 1, with_rules
    assert (rule[0]["label"], rule[0]["start"], rule[0]["end"], rule[0]["score"]) == (
        RULE[0],
        start,
        end,
        1.0,
    )
    untouched = [e for e in without if e["end"] <= start or e["start"] >= end]
    assert [e for e in with_rules if e.get("pattern_id") is None] == untouched
    assert [e["start"] for e in with_rules] == sorted(e["start"] for e in with_rules)
