"""nerve as a spaCy pipeline component (the ``spacy`` extra): ``nlp.add_pipe("nerve_ner")``.

Importing this module registers the ``nerve_ner`` factory; an installed nerve also declares it
under spaCy's ``spacy_factories`` entry point, so spaCy finds it without the import.
See docs/spacy.md.
"""

from __future__ import annotations

try:
    import spacy  # noqa: F401
except ImportError:  # pragma: no cover - exercised only without the extra
    from ..errors import MissingExtra

    raise MissingExtra("spacy", "spacy", "the spaCy component") from None

from .align import ALIGNMENT_MODES, entity_spans, merged_ents
from .component import NerveNER, make_nerve_ner

__all__ = ["ALIGNMENT_MODES", "NerveNER", "entity_spans", "make_nerve_ner", "merged_ents"]
