"""The one label palette of nerve: the server's page and ``nerve infer -f html`` colour
every label the same way.

The CoNLL types have fixed colours; any other type gets a stable pastel colour from its name
(the same hash the page's JavaScript computes, see ``palette_js``). ``B-``/``I-``/``E-``/``S-``
prefixes are ignored, so ``B-PER`` and ``PER`` look alike.
"""

from __future__ import annotations

import json
import re

KNOWN = {"PER": "#aa9cfc", "ORG": "#7aecec", "LOC": "#ff9561", "MISC": "#e4e7d2"}
_PREFIX = re.compile(r"^[BIES]-")


def entity_type(label: str) -> str:
    return _PREFIX.sub("", label, count=1)


def label_colour(label: str) -> str:
    """A CSS colour for ``label``."""
    kind = entity_type(label)
    if kind in KNOWN:
        return KNOWN[kind]
    digest = 0
    for ch in kind:
        digest = (digest * 31 + ord(ch)) & 0xFFFFFFFF
    return f"hsl({digest % 360}, 70%, 80%)"


def palette_js() -> str:
    """The same rule in JavaScript (``entityType`` and ``colour``), for the page."""
    return (
        f"const KNOWN = {json.dumps(KNOWN)};\n"
        'function entityType(label) { return label.replace(/^[BIES]-/, ""); }\n'
        "function colour(label) {\n"
        "  const type = entityType(label);\n"
        "  if (KNOWN[type]) return KNOWN[type];\n"
        "  let hash = 0;\n"
        "  for (const ch of type) hash = (hash * 31 + ch.codePointAt(0)) >>> 0;\n"
        "  return `hsl(${hash % 360}, 70%, 80%)`;\n"
        "}\n"
    )
