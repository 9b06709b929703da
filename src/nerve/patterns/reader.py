"""Read a patterns file: one JSON object per line, like spaCy's EntityRuler phrase patterns.

```
{"label": "ORG", "pattern": "Amazon Web Services"}
{"label": "ORG", "pattern": "aws", "id": "aws", "ignore_case": true}
```

Every problem is reported as ``FILE:LINE: what is wrong`` (a ``DataError``), so a user can fix
a 100,000-line file without hunting.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

from ..errors import DataError
from ..io.json_problems import json_problem

KEYS = ("label", "pattern", "id", "ignore_case")
_KEY_SET = frozenset(KEYS)
_TOKEN_TAG = re.compile(r"[BIESL]-.")


@dataclass(frozen=True, slots=True)
class Pattern:
    """One phrase pattern. Checked when made, from a file or in Python alike."""

    label: str
    text: str
    id: str | None = None
    ignore_case: bool = False
    where: str = ""  # FILE:LINE it came from (for error messages)

    def __post_init__(self) -> None:
        where = self.where or "pattern"
        label, text = self.label, self.text
        if not isinstance(label, str) or not label.strip():
            raise DataError(f"{where}: 'label' must be a non-empty string, got {label!r}")
        if _TOKEN_TAG.match(label):
            # A pattern makes a whole entity, as aggregation does: its label is the entity
            # type, and a B-/I- prefix would come out doubled as a CoNLL tag ("B-B-ORG").
            raise DataError(
                f"{where}: 'label' is an entity type such as {label[2:]!r}, not a token tag "
                f"such as {label!r}"
            )
        if isinstance(text, list):
            raise DataError(
                f"{where}: 'pattern' must be a phrase (a string); token patterns (lists) are "
                "not supported"
            )
        if not isinstance(text, str) or not text.strip():
            raise DataError(f"{where}: 'pattern' must be a non-empty string, got {text!r}")
        if text != text.strip():
            # The match would take the spaces into the entity (" Paris " as its text).
            raise DataError(f"{where}: 'pattern' {text!r} has spaces at its ends; drop them")
        if self.id is not None and not isinstance(self.id, str):
            raise DataError(f"{where}: 'id' must be a string, got {self.id!r}")
        if not isinstance(self.ignore_case, bool):
            raise DataError(
                f"{where}: 'ignore_case' must be true or false, got {self.ignore_case!r}"
            )


def read_patterns(path: str | Path, *, ignore_case: bool = False) -> list[Pattern]:
    """The patterns of a JSONL file; ``ignore_case`` is the default of lines without the key."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise DataError(f"patterns file {path} does not exist") from None
    except IsADirectoryError:
        raise DataError(f"patterns file {path} is a directory, not a JSONL file") from None
    except UnicodeDecodeError as exc:
        raise DataError(f"patterns file {path} is not UTF-8 text ({exc.reason})") from None
    except OSError as exc:
        raise DataError(f"cannot read patterns file {path}: {exc.strerror or exc}") from None
    patterns = []
    for number, line in enumerate(text.splitlines(), start=1):
        if line.strip():
            patterns.append(parse_line(line, f"{path}:{number}", ignore_case))
    return patterns


def parse_line(line: str, where: str, ignore_case: bool) -> Pattern:
    try:
        data = json.loads(line)
    except ValueError as exc:
        raise DataError(f"{where}: not a JSON object ({json_problem(exc)})") from None
    if not isinstance(data, dict):
        raise DataError(f'{where}: expected a JSON object like {{"label": ..., "pattern": ...}}')
    if not data.keys() <= _KEY_SET:
        unknown = sorted(str(k) for k in data if k not in _KEY_SET)
        raise DataError(f"{where}: unknown key(s) {unknown}; known keys: {', '.join(KEYS)}")
    for key in ("label", "pattern"):
        if key not in data:
            raise DataError(f"{where}: missing {key!r}")
    case = data.get("ignore_case", ignore_case)
    return Pattern(data["label"], data["pattern"], data.get("id"), case, where)
