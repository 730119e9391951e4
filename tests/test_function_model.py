"""The in-process `FunctionModel`: a step's whole model path (request, validation, repair,
trace) answered by a Python function, with no server."""

from __future__ import annotations

import pytest

from tests.raters import labelled_pairs
from voicejudge.audio import AudioClip, extract_features
from voicejudge.audio.sample_set import load_sample_set
from voicejudge.errors import ConfigError
from voicejudge.judging.judge import SpeechJudge
from voicejudge.learning.learner import PreferenceLearner
from voicejudge.learning.rubric import Criterion
from voicejudge.models import ModelReplyError, ModelRequest, backend_for, check_model, using_backend
from voicejudge.models.function import FunctionModel
from voicejudge.prompting.judge_prompt import JudgePrompt
from voicejudge.tracking.gateway import op_calls

LOWER_PITCH = [Criterion(feature="f0_median_hz", kind="lower", weight=1.0)]


@pytest.fixture(scope="module")
def voices():
    samples = load_sample_set("assets/voices")
    return samples, {s.id: extract_features(s.clip()) for s in samples}


def test_a_learner_hears_the_pairs_and_its_claims_become_patterns(client, voices) -> None:
    samples, features = voices

    def answer(request: ModelRequest, problem: str | None) -> dict:
        assert any(isinstance(part, AudioClip) for part in request.parts)
        claim = {"statement": "Deeper is better", "feature": "f0_median_hz", "direction": "lower"}
        return {"reasoning": "the deeper take won", "strong": [claim], "emerging": []}

    model = FunctionModel(answer, name="learner")
    with using_backend(model):
        patterns = PreferenceLearner(model="function:learner", max_audio_pairs=2).update(
            labelled_pairs(features, LOWER_PITCH, 12), samples
        )
    assert len(model.requests) == 1
    stated = [p for p in patterns.strong + patterns.emerging if p.term is not None]
    assert [(p.term.feature, p.term.kind) for p in stated] == [("f0_median_hz", "lower")]
    assert stated[0].support > stated[0].against, "evidence recounted from the measurements"
    calls = op_calls(client, "function.generate")
    assert len(calls) == 1 and calls[0].inputs["model"] == "function:learner"


def test_an_invalid_reply_is_asked_again_with_the_problem_then_an_error(voices) -> None:
    samples, features = voices
    problems: list[str | None] = []

    def answer(request: ModelRequest, problem: str | None) -> dict:
        problems.append(problem)
        bad = {"statement": "Likes pitchiness", "feature": "pitchiness", "direction": "lower"}
        return {"reasoning": "r", "strong": [bad], "emerging": []}

    stubborn = FunctionModel(answer, name="stubborn")
    refused = pytest.raises(ModelReplyError, match="unknown feature 'pitchiness'")
    with using_backend(stubborn), refused:
        PreferenceLearner(model="function:stubborn", max_audio_pairs=0).update(
            labelled_pairs(features, LOWER_PITCH, 4), samples
        )
    assert problems[0] is None and "unknown feature 'pitchiness'" in str(problems[1])


def test_a_judge_maps_the_functions_labels_back_to_take_ids(voices) -> None:
    samples, _ = voices
    short, long = sorted(samples.samples[:2], key=lambda s: s.clip().duration_s)

    def prefer_the_longer_take(request: ModelRequest, problem: str | None) -> dict:
        labels = [
            p.removeprefix("Take ").rstrip(":")
            for p in request.parts
            if p in ("Take A:", "Take B:")
        ]
        clips = [p for p in request.parts if isinstance(p, AudioClip)]
        ranked = sorted(zip(labels, clips, strict=True), key=lambda lc: -lc[1].duration_s)
        return {"thinking": "longer is calmer", "ranking": [label for label, _ in ranked]}

    with using_backend(FunctionModel(prefer_the_longer_take, name="judge")):
        judge = SpeechJudge(prompt=JudgePrompt(text="Judge the takes."), model="function:judge")
        verdict = judge.compare(short, long)
    # both presentation orders were asked, each under its own labels, and mapped back alike
    assert verdict.winner == long.id and verdict.position_consistency == 1.0


def test_an_unregistered_function_model_is_a_clear_error_and_registration_is_scoped() -> None:
    with pytest.raises(ConfigError, match="using_backend"):
        check_model("function:nobody")
    model = FunctionModel(lambda request, problem: {}, name="scoped")
    with using_backend(model):
        assert backend_for("function:scoped") is model
    with pytest.raises(ConfigError, match="No function model"):
        backend_for("function:scoped")
