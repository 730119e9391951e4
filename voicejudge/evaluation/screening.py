"""Rater screening as listening tests do it: rules a study switches on, each with its
parameters, that mark raters (never delete them) and say why.

- `hidden-reference` (ITU-R BS.1534): a listener who scores the hidden reference below a limit
  (90) in more than a share of their trials (15 %), or in more than a number of them (the
  shared test's authors: more than one of eight);
- `consistency`: a rater whose repeated answers to one pair agree less often than a limit;
- `consensus`: a rater whose agreement with the others' consensus is below a limit.

Each run of a rule is published as the next version of `screening-<rule>-<study>`, every rater
with the figures the rule read, so a report shows each rater's failed trials out of their
total.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Literal

import weave
from pydantic import BaseModel, Field
from weave.trace.weave_client import WeaveClient

from voicejudge.errors import VoiceJudgeError
from voicejudge.evaluation.panel import (
    natural_order,
    panel_agreement,
    repeated_answers,
    study_codes,
)
from voicejudge.labels.imports import ListenerScore, scores_name
from voicejudge.labels.ranking import asked_comparisons
from voicejudge.tracking.gateway import plain_record, read_object
from voicejudge.tracking.refs import latest_object_ref

ScreeningRule = Literal["hidden-reference", "consistency", "consensus"]
RULES: tuple[ScreeningRule, ...] = ("hidden-reference", "consistency", "consensus")


class ScreeningError(VoiceJudgeError):
    """A rule that cannot run on what the study holds."""


class RaterMark(BaseModel):
    """One rater under one rule: the figures read, and whether the rule marks them."""

    rater: str
    marked: bool
    failed: int = Field(description="trials or pairs that broke the rule")
    total: int = Field(description="trials or pairs the rule looked at")
    reason: str


class RaterScreening(weave.Object):
    """One rule run on one study: its parameters and every rater's mark."""

    study: str
    rule: ScreeningRule
    parameters: dict[str, float | int | str]
    marks: list[RaterMark] = Field(default_factory=list)

    @property
    def marked(self) -> list[str]:
        return [mark.rater for mark in self.marks if mark.marked]


def hidden_reference_marks(
    scores: list[ListenerScore],
    *,
    reference: str = "Reference",
    below: float = 90.0,
    max_share: float | None = 0.15,
    max_trials: int | None = None,
) -> list[RaterMark]:
    """Each listener's trials scoring the hidden reference under `below`; marked when more
    than `max_share` of their trials (or more than `max_trials` of them) fail."""
    if (max_share is None) == (max_trials is None):
        raise ScreeningError("Give the hidden-reference rule a share of trials or a count.")
    trials: dict[str, dict[str, float]] = defaultdict(dict)
    for row in scores:
        if row.condition == reference:
            trials[row.listener][row.signal] = row.score
    if not trials:
        conditions = sorted({row.condition for row in scores})
        raise ScreeningError(
            f"No condition is named {reference!r}; the study's conditions are "
            f"{', '.join(conditions) or 'none'} (give the hidden reference with --reference)."
        )
    marks = []
    for listener, by_signal in sorted(trials.items(), key=lambda item: natural_order(item[0])):
        failed = sum(score < below for score in by_signal.values())
        total = len(by_signal)
        if max_share is not None:
            marked = failed > max_share * total
            limit = f"more than {max_share:.0%} of their trials"
        else:
            assert max_trials is not None
            marked = failed > max_trials
            limit = f"more than {max_trials} trial(s)"
        marks.append(
            RaterMark(
                rater=listener,
                marked=marked,
                failed=failed,
                total=total,
                reason=f"scored the reference below {below:g} in {failed} of {total} trials"
                + (f", {limit}" if marked else ""),
            )
        )
    return marks


def screen(
    client: WeaveClient,
    study: str,
    rule: ScreeningRule,
    *,
    below: float | None = None,
    max_share: float | None = None,
    max_trials: int | None = None,
    reference: str = "Reference",
) -> RaterScreening:
    """Run one rule on a study's raters and publish the marks as `screening-<rule>-<study>`."""
    parameters: dict[str, float | int | str]
    if rule != "hidden-reference" and not any(
        asked.study == study for _, asked in asked_comparisons(client)
    ):
        raise ScreeningError(
            f"Study {study!r} has no comparisons to screen its raters by; import a listening "
            "test into it (voicejudge import) or rank it first."
        )
    if rule == "hidden-reference":
        limit = 90.0 if below is None else below
        if max_share is None and max_trials is None:
            max_share = 0.15
        marks = hidden_reference_marks(
            _study_scores(client, study),
            reference=reference,
            below=limit,
            max_share=max_share,
            max_trials=max_trials,
        )
        parameters = {"reference": reference, "below": limit}
        parameters.update(
            {"max_share": max_share} if max_share is not None else {"max_trials": max_trials or 0}
        )
    elif rule == "consensus":
        limit = 0.6 if below is None else below
        agreement = panel_agreement(study_codes(client, study))
        marks = [
            RaterMark(
                rater=r.rater,
                marked=r.agreement_with_others is not None and r.agreement_with_others < limit,
                failed=r.compared - round((r.agreement_with_others or 0.0) * r.compared),
                total=r.compared,
                reason=f"agrees with the others' consensus on "
                f"{r.agreement_with_others or 0.0:.0%} of {r.compared} pairs",
            )
            for r in agreement.raters
        ]
        parameters = {"below": limit}
    elif rule == "consistency":
        limit = 0.7 if below is None else below
        marks = _consistency_marks(client, study, limit)
        parameters = {"below": limit}
    else:
        raise ScreeningError(f"No screening rule {rule!r}; the rules are {', '.join(RULES)}.")
    screening = RaterScreening(study=study, rule=rule, parameters=parameters, marks=marks)
    weave.publish(screening, name=screening_name(study, rule))
    return screening


def screening_name(study: str, rule: ScreeningRule) -> str:
    """The name one rule's results for a study are published under (each run a version)."""
    return scores_name(study).replace("scores-", f"screening-{rule}-", 1)


def latest_marks(client: WeaveClient, study: str) -> dict[str, list[str]]:
    """Rater -> the rules whose latest run on the study marked them."""
    marked: dict[str, list[str]] = defaultdict(list)
    for rule in RULES:
        found = read_object(
            client, latest_object_ref(client.project_id, screening_name(study, rule))
        )
        if found is None or not isinstance(found.val, dict):
            continue
        for mark in found.val.get("marks") or []:
            if isinstance(mark, dict) and mark.get("marked"):
                marked[str(mark.get("rater"))].append(rule)
    return dict(marked)


def _study_scores(client: WeaveClient, study: str) -> list[ListenerScore]:
    found = read_object(client, latest_object_ref(client.project_id, scores_name(study)))
    if found is None or not isinstance(found.val, dict):
        raise ScreeningError(
            f"Study {study!r} has no imported scores: the hidden-reference rule reads the "
            "scores a `voicejudge import mushra` keeps."
        )
    return [ListenerScore.model_validate(row) for row in plain_record(found.val["rows"])]


def _consistency_marks(client: WeaveClient, study: str, limit: float) -> list[RaterMark]:
    """Raters' repeated answers to one comparison: the share that agree with the first."""
    marks = []
    for rater, (same, repeats) in repeated_answers(client, study).items():
        share = same / repeats if repeats else 1.0
        marks.append(
            RaterMark(
                rater=rater,
                marked=bool(repeats) and share < limit,
                failed=repeats - same,
                total=repeats,
                reason=f"answered {same} of {repeats} repeated comparisons the same way"
                if repeats
                else "no repeated comparisons",
            )
        )
    return marks
