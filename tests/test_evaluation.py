"""Held-out evaluation: the statistics, and the weave.Evaluation that runs the judge."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from voicejudge.audio.sample_set import load_sample_set
from voicejudge.evaluation.heldout import (
    EvaluationError,
    HeldOutPair,
    evaluate_judge,
    score_heldout,
)
from voicejudge.evaluation.metrics import (
    bootstrap_ci,
    bradley_terry_order,
    cohen_kappa,
    kendall_tau,
    order_agreement,
)
from voicejudge.judging.judge import JudgeVerdict, OrderAnswer, SpeechJudge
from voicejudge.labels.simulated_raters import SimulatedRater, load_rater_profile
from voicejudge.learning.comparison import Comparison
from voicejudge.prompting.judge_prompt import seed_prompt


def test_cohen_kappa_against_hand_computed_values() -> None:
    assert cohen_kappa(["a", "b", "a", "b"], ["a", "b", "a", "b"]) == 1.0
    # observed 0.5, expected 0.5: no better than chance
    assert cohen_kappa(["a", "a", "b", "b"], ["a", "b", "a", "b"]) == 0.0
    # 3 of 4 agree; marginals judge (3a, 1b), rater (2a, 2b): pe = 0.5 -> kappa 0.5
    assert cohen_kappa(["a", "a", "a", "b"], ["a", "a", "b", "b"]) == pytest.approx(0.5)
    # "no winner" is its own answer: it never matches a label, and scores as chance
    assert cohen_kappa([None, None], ["a", "b"]) == 0.0
    assert cohen_kappa([None, "a", "b"], ["a", "a", "b"]) < cohen_kappa(
        ["a", "a", "b"], ["a", "a", "b"]
    )


def test_bootstrap_interval_brackets_the_mean_and_is_seeded() -> None:
    values = [1.0] * 30 + [0.0] * 10
    low, high = bootstrap_ci(values, seed=1)
    assert low < 0.75 < high and low > 0.5 and high < 0.95
    assert bootstrap_ci(values, seed=1) == (low, high)
    assert bootstrap_ci([1.0] * 10) == (1.0, 1.0)


def test_bradley_terry_recovers_a_consistent_order_and_tau() -> None:
    truth = ["e", "d", "c", "b", "a"]
    wins = [
        Comparison(preferred_id=x, rejected_id=y, rater="r")
        for i, x in enumerate(truth)
        for y in truth[i + 1 :]
    ]
    order = bradley_terry_order(wins, sorted(truth))
    assert order == truth
    assert kendall_tau(order, truth) == 1.0
    assert kendall_tau(order[::-1], truth) == -1.0


def _verdict(first_of_each_order: list[str]) -> JudgeVerdict:
    answers = [
        OrderAnswer(presented=["a", "b"], labels={}, ranking=[w, "b" if w == "a" else "a"])
        for w in first_of_each_order
    ]
    return JudgeVerdict(
        winner=first_of_each_order[0] if len(set(first_of_each_order)) == 1 else None,
        ranking=[],
        position_consistency=1.0 if len(set(first_of_each_order)) == 1 else 0.0,
        per_order=answers,
    )


def test_agreement_is_averaged_over_presentation_orders() -> None:
    assert order_agreement(_verdict(["a", "a"]), "a") == 1.0
    assert order_agreement(_verdict(["a", "b"]), "a") == 0.5
    assert order_agreement(_verdict(["b", "b"]), "a") == 0.0


@pytest.fixture(scope="module")
def heldout():
    voices = load_sample_set("assets/voices")
    ids = voices.ids[:6]
    rater = SimulatedRater(load_rater_profile("gravel"), voices)
    rows = []
    for a, b in itertools.combinations(ids, 2):
        rows.append(
            HeldOutPair(
                first=a, second=b, label=rater.rank([a, b])[0], true_choice=rater.true_choice(a, b)
            )
        )
    return voices, rows


def test_weave_evaluation_scores_match_the_direct_computation(client, heldout) -> None:
    voices, rows = heldout
    judge = SpeechJudge(prompt=seed_prompt())
    traced = evaluate_judge(judge, voices, rows, name="heldout-test", seed=3)
    direct = score_heldout(judge, voices, rows, seed=3)
    assert traced.model_dump() == direct.model_dump()
    assert traced.pairs == 15 and len(traced.decisions) == 15
    manual = np.mean([d.agreement for d in traced.decisions])
    assert traced.agreement == pytest.approx(manual, abs=1e-4)
    assert traced.kendall_tau is not None and -1 <= traced.kendall_tau <= 1
    client.flush()
    evaluations = list(
        client.get_calls(
            filter={"op_names": [f"weave:///{client.project_id}/op/Evaluation.evaluate:*"]}
        )
    )
    assert len(evaluations) == 1
    summary = evaluations[0].output  # the figures a round reports are the evaluation's own
    assert summary["agreement"]["agreement"] == traced.agreement
    assert summary["agreement"]["kappa"] == traced.kappa
    assert (summary["agreement"]["ci95_low"], summary["agreement"]["ci95_high"]) == traced.ci95
    assert summary["agreement_true"]["agreement"] == traced.agreement_true
    consistency = summary["position_consistency"]["position_consistency"]["mean"]
    assert round(consistency, 4) == traced.position_consistency
    predictions = list(
        client.get_calls(
            filter={"op_names": [f"weave:///{client.project_id}/op/PairJudge.predict:*"]}
        )
    )
    assert len(predictions) == 15


def test_a_judge_failure_names_the_pair_and_the_cause(gemini, heldout) -> None:
    from tests.fake_gemini import error

    voices, rows = heldout
    gemini.default = lambda request: error(400, "audio too long for this model")
    judge = SpeechJudge(prompt=seed_prompt(), model="gemini:gemini-test")
    with pytest.raises(EvaluationError) as caught:
        evaluate_judge(judge, voices, rows[:3], listwise=False)
    message = str(caught.value)
    assert "failed on 3 of 3 held-out pairs" in message and "audio too long" in message


def test_evaluation_needs_labels(client, heldout) -> None:
    voices, _ = heldout
    with pytest.raises(EvaluationError, match="no held-out labels"):
        evaluate_judge(SpeechJudge(prompt=seed_prompt()), voices, [])
