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


@dataclass(frozen=True, slots=True)
class Pattern:
    label: str
    text: str
    id: str | None = None
    ignore_case: bool = False
    where: str = ""  # FILE:LINE it came from (for error messages)


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


_TOKEN_TAG = re.compile(r"[BIESL]-.")


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
    label, pattern = data["label"], data["pattern"]
    if not isinstance(label, str) or not label.strip():
        raise DataError(f"{where}: 'label' must be a non-empty string, got {label!r}")
    if _TOKEN_TAG.match(label):
        # A pattern makes a whole entity, as aggregation does: its label is the entity type,
        # and a B-/I- prefix would come out doubled as a CoNLL tag ("B-B-ORG").
        raise DataError(
            f"{where}: 'label' is an entity type such as {label[2:]!r}, not a token tag "
            f"such as {label!r}"
        )
    if isinstance(pattern, list):
        raise DataError(
            f"{where}: 'pattern' must be a phrase (a string); token patterns (lists) are not "
            "supported"
        )
    if not isinstance(pattern, str) or not pattern.strip():
        raise DataError(f"{where}: 'pattern' must be a non-empty string, got {pattern!r}")
    id_ = data.get("id")
    if id_ is not None and not isinstance(id_, str):
        raise DataError(f"{where}: 'id' must be a string, got {id_!r}")
    case = data.get("ignore_case", ignore_case)
    if not isinstance(case, bool):
        raise DataError(f"{where}: 'ignore_case' must be true or false, got {case!r}")
    return Pattern(label, pattern, id_, case, where)
