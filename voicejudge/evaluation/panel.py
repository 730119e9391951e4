"""Agreement between people: how each rater agrees with the others, and Krippendorff's α.

A judgement is one rater's answer to one comparison of two takes, coded on an ordinal scale
against the pair's canonical order (-1: the second preferred, 0: a tie, +1: the first). A
rater's agreement with the others is taken against the leave-one-out consensus: the majority
of the other raters' answers to the same pair (ties and even splits give no consensus).
Pairwise agreement between two raters counts the pairs both answered.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence

import numpy as np
from pydantic import BaseModel, Field
from weave.trace.weave_client import WeaveClient

from voicejudge.evaluation.metrics import bootstrap_ci
from voicejudge.labels.ranking import RecordedRanking, asked_comparisons, read_rankings

# rater -> pair (first, second in sorted order) -> -1, 0 or +1
Codes = dict[str, dict[tuple[str, str], int]]


class RaterAgreement(BaseModel):
    """One rater: how much they judged, and how often they side with the others."""

    rater: str
    judgements: int
    agreement_with_others: float | None = Field(
        description="share of their decided pairs where they chose as the others' majority"
    )
    compared: int = Field(description="pairs with a consensus of the others to compare with")
    self_consistency: float | None = Field(
        default=None, description="share of their repeated answers that match their first"
    )
    repeats: int = Field(default=0, description="answers to comparisons they had answered")


class PanelAgreement(BaseModel):
    """A panel's agreement: per rater, between raters, and overall."""

    raters: list[RaterAgreement]
    alpha: float | None = Field(description="Krippendorff's α, ordinal, with missing data")
    pairwise_agreement: float | None = Field(
        description="share of shared pairs on which two raters gave the same answer"
    )
    pairwise_ci95: tuple[float, float] | None
    matrix: dict[str, dict[str, float | None]] = Field(
        description="rater × rater agreement on the pairs both answered"
    )


def study_codes(client: WeaveClient, study: str | None = None) -> Codes:
    """The ordinal codes of every two-take ranking in the store (of one study, if given)."""
    return judgement_codes(study_rankings(client, study))


def study_rankings(client: WeaveClient, study: str | None = None) -> list[RecordedRanking]:
    """Every current ranking in the store, or those of one study's comparisons."""
    recorded = read_rankings(client)
    if study is None:
        return recorded
    calls = {call_id for call_id, asked in asked_comparisons(client) if asked.study == study}
    return [r for r in recorded if r.call_id in calls]


def repeated_answers(client: WeaveClient, study: str | None = None) -> dict[str, tuple[int, int]]:
    """Rater -> (repeats answered as their first answer, repeats) over the comparisons they
    answered more than once (later answers replace earlier ones but are kept)."""
    calls = {
        call_id
        for call_id, asked in asked_comparisons(client)
        if study is None or asked.study == study
    }
    answers: dict[tuple[str, str], list[tuple[str, ...]]] = defaultdict(list)
    for recorded in read_rankings(client, include_replaced=True):
        if recorded.call_id in calls:
            feedback = recorded.feedback
            answer = ("tie",) if feedback.tie else tuple(feedback.ranking)
            answers[feedback.rater, recorded.call_id].append(answer)
    counts: dict[str, tuple[int, int]] = {}
    for (rater, _), given in sorted(answers.items(), key=lambda item: natural_order(item[0][0])):
        same, repeats = counts.get(rater, (0, 0))
        counts[rater] = (
            same + sum(later == given[0] for later in given[1:]),
            repeats + len(given) - 1,
        )
    return counts


def judgement_codes(recorded: Iterable[RecordedRanking]) -> Codes:
    """Every two-take ranking as an ordinal code per rater and pair (the newest answer wins)."""
    codes: Codes = defaultdict(dict)
    for ranking in recorded:
        order = ranking.feedback.ranking
        if len(order) != 2:
            continue
        pair = (min(order), max(order))
        code = 0 if ranking.feedback.tie else (1 if order[0] == pair[0] else -1)
        codes[ranking.feedback.rater][pair] = code
    return dict(codes)


def panel_agreement(
    codes: Codes, seed: int = 0, repeats: Mapping[str, tuple[int, int]] | None = None
) -> PanelAgreement:
    """Each rater against the others' consensus (and against themselves, given `repeats` from
    `repeated_answers`), rater × rater agreement and α."""
    raters = sorted(codes, key=natural_order)
    by_pair = answers_by_pair(codes)
    summaries = []
    for rater in raters:
        consistent, repeated = (repeats or {}).get(rater, (0, 0))
        hits = []
        for pair, code in codes[rater].items():
            if code == 0:
                continue
            consensus = majority(c for other, c in by_pair[pair].items() if other != rater)
            if consensus is not None:
                hits.append(float(code == consensus))
        summaries.append(
            RaterAgreement(
                rater=rater,
                judgements=len(codes[rater]),
                agreement_with_others=round(float(np.mean(hits)), 4) if hits else None,
                compared=len(hits),
                self_consistency=round(consistent / repeated, 4) if repeated else None,
                repeats=repeated,
            )
        )
    matrix: dict[str, dict[str, float | None]] = {r: {} for r in raters}
    same: list[float] = []
    for i, a in enumerate(raters):
        for b in raters[i + 1 :]:
            shared = [p for p in codes[a] if p in codes[b]]
            agreed = [float(codes[a][p] == codes[b][p]) for p in shared]
            value = round(float(np.mean(agreed)), 4) if agreed else None
            matrix[a][b] = matrix[b][a] = value
            same += agreed
    return PanelAgreement(
        raters=summaries,
        alpha=krippendorff_alpha_ordinal(by_pair),
        pairwise_agreement=round(float(np.mean(same)), 4) if same else None,
        pairwise_ci95=bootstrap_ci(same, seed=seed) if len(same) > 1 else None,
        matrix=matrix,
    )


def answers_by_pair(
    codes: Mapping[str, Mapping[tuple[str, str], int]],
) -> dict[tuple[str, str], dict[str, int]]:
    """The same codes turned around: pair -> rater -> code."""
    found: dict[tuple[str, str], dict[str, int]] = defaultdict(dict)
    for rater, answers in codes.items():
        for pair, code in answers.items():
            found[pair][rater] = code
    return dict(found)


def krippendorff_alpha_ordinal(
    units: Mapping[tuple[str, str], Mapping[str, int]],
) -> float | None:
    """Krippendorff's α for ordinal values with missing data (Krippendorff 2011, "Computing
    Krippendorff's alpha-reliability"): units are items, each with its coders' values."""
    values = sorted({v for unit in units.values() for v in unit.values()})
    index = {v: i for i, v in enumerate(values)}
    coincidences = np.zeros((len(values), len(values)))
    for unit in units.values():
        coded = list(unit.values())
        if len(coded) < 2:
            continue
        for i, c in enumerate(coded):
            for j, k in enumerate(coded):
                if i != j:
                    coincidences[index[c], index[k]] += 1 / (len(coded) - 1)
    totals = coincidences.sum(axis=1)
    n = totals.sum()
    if n <= 1 or len(values) < 2:
        return None
    cumulative = np.cumsum(totals)
    distance = np.zeros_like(coincidences)
    for c in range(len(values)):
        for k in range(len(values)):
            low, high = min(c, k), max(c, k)
            between = cumulative[high] - (cumulative[low - 1] if low else 0.0)
            distance[c, k] = (between - (totals[c] + totals[k]) / 2) ** 2
    expected = float((np.outer(totals, totals) * distance).sum())
    if expected == 0:
        return None
    observed = float((coincidences * distance).sum())
    return round(1 - (n - 1) * observed / expected, 6)


def majority(codes: Iterable[int]) -> int | None:
    """+1 or -1 when more of the answers say so; None for no decided answer or a split."""
    balance = sum(code for code in codes if code != 0)
    return None if balance == 0 else int(math.copysign(1, balance))


def plot_panel(agreement: PanelAgreement, path: str, order: Sequence[str] | None = None) -> str:
    """A PNG: the rater × rater agreement heat map, and each rater's agreement with the
    others' consensus."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    raters = list(order or [r.rater for r in agreement.raters])
    grid = np.array(
        [
            [np.nan if a == b else _nan(agreement.matrix.get(a, {}).get(b)) for b in raters]
            for a in raters
        ]
    )
    figure, (left, right) = plt.subplots(
        1, 2, figsize=(11, 5), gridspec_kw={"width_ratios": [3, 2]}
    )
    shown = left.imshow(grid, vmin=0, vmax=1, cmap="viridis")
    left.set_xticks(range(len(raters)), raters, rotation=90, fontsize=7)
    left.set_yticks(range(len(raters)), raters, fontsize=7)
    left.set_title("agreement on the pairs both answered")
    figure.colorbar(shown, ax=left, fraction=0.046)
    consensus = [_nan(r.agreement_with_others) for r in agreement.raters]
    right.barh([r.rater for r in agreement.raters], consensus, color="tab:blue")
    right.axvline(0.5, color="grey", linestyle="--", linewidth=1)
    right.set_xlim(0, 1)
    right.set_xlabel("agreement with the others' consensus (dashed: chance)")
    right.tick_params(axis="y", labelsize=7)
    right.invert_yaxis()
    alpha = "–" if agreement.alpha is None else f"{agreement.alpha:.3f}"
    figure.suptitle(f"Krippendorff's α (ordinal) = {alpha}")
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    plt.close(figure)
    return path


def natural_order(name: str) -> tuple[int, int | str]:
    """Listener ids in number order (2 before 10), names after them in text order."""
    return (0, int(name)) if name.isdigit() else (1, name)


def _nan(value: float | None) -> float:
    return math.nan if value is None else value
