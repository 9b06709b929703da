"""Window-position stability: does a paragraph get the same entities wherever it falls?

A long document runs in overlapping windows, so the context a paragraph's tokens see depends
on where the window edges fall. A document is built from a few paragraphs repeated in a
seeded shuffled order (about 5,000 words), run through the engine as ONE text, and each
occurrence's entities (offsets relative to the paragraph) are compared with the other
occurrences of the same paragraph. Two rates are reported:

- ``occurrence_rate``: the share of occurrences whose entity set equals their paragraph's most
  common set;
- ``paragraph_rate``: the share of paragraphs whose every occurrence got the same set.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

__all__ = ["PARAGRAPHS", "ConsistencyResult", "build_document", "measure_consistency"]

# Written for this check: encyclopedic and news prose with people, places, organisations and
# the like, about 90 words each.
PARAGRAPHS: tuple[str, ...] = (
    "Marie Curie shared the Nobel Prize in Physics in 1903 with Pierre Curie and Henri "
    "Becquerel, and won the prize in Chemistry alone in 1911. Born in Warsaw, she moved to "
    "Paris to study at the Sorbonne, where she later became the first woman to hold a "
    "professorship. During the First World War she organised mobile X-ray units for the "
    "French army. The Curie Institute, which she founded, still works on cancer research "
    "today, and her notebooks are kept at the Bibliotheque nationale de France.",
    "The European Central Bank left interest rates unchanged on Thursday, and its president "
    "Christine Lagarde told reporters in Frankfurt that inflation in the euro zone was "
    "falling faster than expected. Economists at Deutsche Bank and Goldman Sachs had "
    "forecast the decision. The euro rose against the dollar after the announcement, while "
    "shares in Milan and Madrid slipped. The bank's next meeting is due in Vienna in "
    "October, and markets expect a first cut before the end of the year.",
    "Pope Gregory the Great led the papacy from 590 until his death in 604. Born into a "
    "wealthy Roman family, he served as prefect of Rome before entering a monastery on the "
    "Caelian Hill. He sent Augustine of Canterbury on a mission to the Anglo-Saxons of "
    "England and reformed the liturgy of the Latin Church. His letters, more than 850 of "
    "which survive, are a main source for the history of Italy in that period, and the "
    "Gregorian chant bears his name.",
    "Toyota said on Monday it would build a new battery plant in North Carolina, creating "
    "about 2,000 jobs. The Japanese carmaker, based in Toyota City near Nagoya, plans to "
    "supply cells for hybrid and electric cars sold across the United States and Canada. "
    "Governor Roy Cooper welcomed the investment at a ceremony in Raleigh. Rivals Honda and "
    "Hyundai have announced similar factories in Ohio and Georgia, as carmakers race to "
    "qualify for tax credits under the Inflation Reduction Act.",
    "The Amazon river carries more water than any other river on Earth. It rises in the "
    "Andes of Peru and flows east through Colombia and Brazil before reaching the Atlantic "
    "Ocean near Belem. The rainforest around it is home to thousands of species found "
    "nowhere else. Scientists from the University of Sao Paulo and the Smithsonian "
    "Institution have tracked its pink river dolphins for decades, and the World Wildlife "
    "Fund campaigns against illegal logging in the states of Para and Amazonas.",
    "Novak Djokovic beat Carlos Alcaraz in straight sets to win the final at the Australian "
    "Open in Melbourne on Sunday. The Serbian, coached for years by Goran Ivanisevic, "
    "lifted the trophy for a record tenth time. Alcaraz, the Spaniard who had beaten Jannik "
    "Sinner in the semi-final, said he had learned a lot. The Association of Tennis "
    "Professionals said the match drew the largest television audience in the history of "
    "the tournament, which is run by Tennis Australia.",
    "The Royal Swedish Academy of Sciences announced the winners of this year's prizes at a "
    "news conference in Stockholm. The award in economics went to researchers at the "
    "Massachusetts Institute of Technology and the London School of Economics for work on "
    "institutions and growth. King Carl XVI Gustaf will present the medals in December at "
    "the Stockholm Concert Hall, and the laureates will give their lectures at Stockholm "
    "University in the days before the ceremony.",
    "Microsoft agreed to buy the game maker Activision Blizzard after regulators in Brussels "
    "and London approved the deal. Satya Nadella said the purchase would bring Call of Duty "
    "to more players on Xbox and on cloud services. The Federal Trade Commission in "
    "Washington had tried to block it in court. Activision, based in Santa Monica, "
    "California, also owns the studio behind World of Warcraft, and its chief executive "
    "Bobby Kotick left the company once the sale closed.",
)


@dataclass(frozen=True)
class ConsistencyResult:
    strategy: str
    words: int
    occurrences: int
    occurrence_rate: float
    paragraph_rate: float
    variants: dict[int, int]  # paragraph index → number of distinct entity sets seen

    def to_dict(self) -> dict[str, Any]:
        return {
            "strategy": self.strategy,
            "words": self.words,
            "occurrences": self.occurrences,
            "occurrence_rate": round(self.occurrence_rate, 4),
            "paragraph_rate": round(self.paragraph_rate, 4),
            "variants": self.variants,
        }


def build_document(
    paragraphs: Sequence[str], repeats: int, seed: int = 0, separator: str = "\n\n"
) -> tuple[str, list[tuple[int, int]]]:
    """Each paragraph ``repeats`` times, each round in a new seeded order, joined by
    ``separator`` (a blank line: paragraphs; a space: one run of text); returns the text and
    (paragraph index, start offset) of every occurrence."""
    rng = random.Random(seed)
    parts: list[str] = []
    where: list[tuple[int, int]] = []
    pos = 0
    for _ in range(repeats):
        order = list(range(len(paragraphs)))
        rng.shuffle(order)
        for index in order:
            where.append((index, pos))
            parts.append(paragraphs[index])
            pos += len(paragraphs[index]) + len(separator)
    return separator.join(parts), where


def measure_consistency(
    engine: Any,
    strategy: str,
    paragraphs: Sequence[str] = PARAGRAPHS,
    repeats: int = 7,
    separator: str = "\n\n",
    **options: Any,
) -> ConsistencyResult:
    text, where = build_document(paragraphs, repeats, separator=separator)
    entities = engine(text, aggregation_strategy=strategy, **options).entities
    seen: dict[int, list[frozenset[tuple[int, int, str]]]] = {}
    for index, start in where:
        end = start + len(paragraphs[index])
        found = frozenset(
            (e.start - start, e.end - start, e.label)
            for e in entities
            if start <= e.start and e.end <= end
        )
        seen.setdefault(index, []).append(found)
    modal = sum(Counter(sets).most_common(1)[0][1] for sets in seen.values())
    stable = sum(len(set(sets)) == 1 for sets in seen.values())
    return ConsistencyResult(
        strategy=strategy,
        words=len(text.split()),
        occurrences=len(where),
        occurrence_rate=modal / len(where),
        paragraph_rate=stable / len(seen),
        variants={i: len(set(sets)) for i, sets in sorted(seen.items())},
    )
