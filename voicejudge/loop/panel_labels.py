"""A study's stored labels as a panel run learns from them: each rater's comparisons, the
held-out split by unit, and the figures that give a judge's agreement its meaning.

A unit is a group of takes whose scores are comparable: the connected parts of the study's
comparison graph (one MUSHRA signal each); a study that is one connected part is split by
takes instead. Held-out units are never learned from.
"""

from __future__ import annotations

import hashlib
import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

from weave.trace.weave_client import WeaveClient

from voicejudge.evaluation.panel import (
    answers_by_pair,
    judgement_codes,
    majority,
    study_rankings,
)
from voicejudge.labels.feedback import comparisons_from
from voicejudge.learning.comparison import Comparison

CONSENSUS = "consensus"
PoolMode = Literal["per-rater", "pooled", "hierarchical"]
Pair = tuple[str, str]


@dataclass(frozen=True)
class PanelLabels:
    """Every rater's decided comparisons in a study (their newest answer to each call), and
    every answer as an ordinal code (+1 first of the sorted pair, -1 second, 0 a tie)."""

    comparisons: dict[str, list[Comparison]]
    codes: dict[str, dict[Pair, int]]

    @property
    def raters(self) -> list[str]:
        return sorted(self.codes)

    def only(self, raters: Sequence[str]) -> PanelLabels:
        keep = set(raters)
        return PanelLabels(
            comparisons={r: c for r, c in self.comparisons.items() if r in keep},
            codes={r: c for r, c in self.codes.items() if r in keep},
        )


def study_labels(client: WeaveClient, study: str) -> PanelLabels:
    """The labels of `study` in the store, by rater."""
    recorded = [r for r in study_rankings(client, study) if len(r.feedback.ranking) == 2]
    comparisons: dict[str, list[Comparison]] = defaultdict(list)
    for ranking in recorded:
        comparisons[ranking.feedback.rater] += comparisons_from(ranking.feedback, ranking.call_id)
    return PanelLabels(comparisons=dict(comparisons), codes=judgement_codes(recorded))


def units_of(labels: PanelLabels) -> list[frozenset[str]]:
    """The connected parts of the comparison graph over takes, in a stable order."""
    parent: dict[str, str] = {}

    def root(take: str) -> str:
        while parent.setdefault(take, take) != take:
            parent[take] = parent[parent[take]]
            take = parent[take]
        return take

    for answers in labels.codes.values():
        for a, b in answers:
            parent[root(a)] = root(b)
    parts: dict[str, set[str]] = defaultdict(set)
    for take in list(parent):
        parts[root(take)].add(take)
    return sorted((frozenset(p) for p in parts.values()), key=lambda p: min(p))


@dataclass(frozen=True)
class PanelSplit:
    """Held-out takes, and the training units in the order rounds add them."""

    heldout: frozenset[str]
    train_units: tuple[frozenset[str], ...]

    def training_units(self, number: int, rounds: int) -> tuple[frozenset[str], ...]:
        """The units round `number` of `rounds` learns from: a growing share of them."""
        return self.train_units[: math.ceil(len(self.train_units) * min(number, rounds) / rounds)]

    def training(self, number: int, rounds: int) -> frozenset[str]:
        """The takes of those units."""
        return frozenset().union(*self.training_units(number, rounds))


def split_panel(labels: PanelLabels, heldout: int, seed: int) -> PanelSplit:
    """Hold out whole units until at least `heldout` takes are out (one unit always trains);
    a study that is one unit holds out `heldout` of its takes."""
    units = sorted(units_of(labels), key=lambda u: _key(seed, *sorted(u)))
    if len(units) >= 2:
        held: list[frozenset[str]] = []
        while units[1:] and sum(map(len, held)) < heldout:
            held.append(units.pop(0))
        return PanelSplit(heldout=frozenset().union(*held), train_units=tuple(units))
    takes = sorted(units[0] if units else (), key=lambda t: _key(seed, t))
    held_takes, train = frozenset(takes[:heldout]), takes[heldout:]
    return PanelSplit(heldout=held_takes, train_units=tuple(frozenset({t}) for t in train))


def within(comparisons: Iterable[Comparison], takes: frozenset[str]) -> list[Comparison]:
    """The comparisons of two takes that are both in `takes`."""
    return [c for c in comparisons if c.preferred_id in takes and c.rejected_id in takes]


def majority_comparisons(labels: PanelLabels, takes: frozenset[str]) -> list[Comparison]:
    """The consensus as labels: each pair the raters answered, won by the majority of their
    decided answers (splits and ties give none)."""
    found = []
    for pair, codes in sorted(answers_by_pair(labels.codes).items()):
        if pair[0] in takes and pair[1] in takes:
            side = majority(codes.values())
            if side is not None:
                preferred, rejected = pair if side > 0 else pair[::-1]
                found.append(
                    Comparison(preferred_id=preferred, rejected_id=rejected, rater=CONSENSUS)
                )
    return found


def others_consensus(
    labels: PanelLabels, takes: frozenset[str]
) -> list[tuple[str, Pair, int, int]]:
    """(rater, pair, their code, the others' majority) for every decided answer on `takes`
    that the other raters have a majority on: what the human ceiling and the judge's agreement
    with the consensus are both counted over."""
    pairs = answers_by_pair(labels.codes)
    found = []
    for rater in labels.raters:
        for pair, code in sorted(labels.codes[rater].items()):
            if code == 0 or pair[0] not in takes or pair[1] not in takes:
                continue
            side = majority(c for other, c in pairs[pair].items() if other != rater)
            if side is not None:
                found.append((rater, pair, code, side))
    return found


def _key(seed: int, *parts: str) -> str:
    return hashlib.sha256("|".join((str(seed), *parts)).encode()).hexdigest()
