"""Learn -> rewrite -> judge as traced ops, offline and through the Gemini wire protocol."""

from __future__ import annotations

from pathlib import Path

import pytest
import weave

from tests.fake_gemini import reply
from tests.raters import labelled_pairs
from voicejudge.audio import extract_features
from voicejudge.audio.sample_set import load_sample_set
from voicejudge.judging.judge import SpeechJudge
from voicejudge.learning.comparison import Comparison
from voicejudge.learning.learner import PreferenceLearner
from voicejudge.learning.patterns import PreferencePatterns
from voicejudge.learning.rubric import Criterion
from voicejudge.prompting.judge_prompt import JudgePrompt, publish_judge_prompt, seed_prompt
from voicejudge.prompting.rewrite import JudgePromptAnalyzer, rewrite_from_patterns
from voicejudge.prompts import PROMPT_NAMES, load_prompt, publish_prompts, render

ROOT = Path(__file__).resolve().parents[1]
RATER = [
    Criterion(feature="f0_median_hz", kind="lower", weight=1.0),
    Criterion(feature="syll_rate", kind="lower", weight=0.7),
    Criterion(feature="hnr_db", kind="lower", weight=0.5),
]


@pytest.fixture(scope="module")
def voices():
    samples = load_sample_set(ROOT / "assets" / "voices")
    return samples, {s.id: extract_features(s.clip()) for s in samples}


def _pairs(features, count: int, seed: int) -> list[Comparison]:
    return labelled_pairs(features, RATER, count, seed)


def test_prompts_render_fresh_and_publish(client) -> None:
    template = load_prompt("learner")
    tricky = 'He said "wild {brief}" and {feature_names}'
    rendered = render(template, brief=tricky, current_patterns="- {x}", feature_names="f0")
    assert tricky in rendered and "- {x}" in rendered
    assert load_prompt("learner") == template
    refs = publish_prompts()
    assert set(refs) == set(PROMPT_NAMES)
    assert client.get(refs["judge_seed"]).content == load_prompt("judge_seed")


def test_offline_learn_rewrite_judge_linked_by_refs(client, voices) -> None:
    samples, features = voices
    prompt = publish_judge_prompt(seed_prompt())
    learner = PreferenceLearner(prior=prompt.criteria)
    patterns = learner.update(_pairs(features, 48, seed=1), samples)
    analysis = JudgePromptAnalyzer().rewrite(prompt, patterns)
    new = analysis.prompt
    judge = SpeechJudge(prompt=new)
    verdict = judge.compare(samples.get("voice-001"), samples.get("voice-009"))
    client.flush()

    stated = {(p.term.feature, p.term.kind) for p in patterns.strong + patterns.emerging}
    assert stated, "48 comparisons state at least one pattern"
    by_feature = {c.feature: c for c in new.criteria if c.kind != "gate"}
    for feature, direction in stated:
        if direction in ("higher", "lower"):
            assert by_feature[feature].kind == direction
    assert "What this listener has shown so far:" in new.text
    assert new.ref is not None and new.ref.uri() == verdict.prompt_ref
    versions = client.server.objs_query(
        {"project_id": client.project_id, "filter": {"object_ids": ["judge-prompt"]}}
    ).objs
    assert [v.version_index for v in versions] == [0, 1]

    calls = {c.op_name.rsplit("/", 1)[-1].split(":")[0]: c for c in client.get_calls()}
    rewrite = calls["JudgePromptAnalyzer.rewrite"]
    assert rewrite.output.prompt.ref.uri() == new.ref.uri()
    compare = calls["SpeechJudge.compare"]
    assert compare.inputs["self"].prompt.ref.uri() == new.ref.uri()
    assert compare.inputs["a"] == "voice-001"
    update = calls["PreferenceLearner.update"]
    assert update.output.learned_from == patterns.learned_from
    assert rewrite.inputs["patterns"].learned_from == patterns.learned_from


def test_offline_steps_are_deterministic(voices) -> None:
    samples, features = voices
    pairs = _pairs(features, 24, seed=2)
    one = PreferenceLearner(prior=list(seed_prompt().criteria)).update(pairs, samples)
    two = PreferenceLearner(prior=list(seed_prompt().criteria)).update(pairs, samples)
    assert one.model_dump() == two.model_dump()
    takes = [samples.get(f"voice-02{i}") for i in range(5)]
    judge = SpeechJudge(prompt=seed_prompt())
    assert judge.rank(takes).model_dump() == judge.rank(takes).model_dump()


def test_gemini_learner_hears_pairs_and_consolidates(gemini, voices) -> None:
    samples, features = voices
    claim = {
        "statement": "Prefers a deeper voice",
        "feature": "f0_median_hz",
        "direction": "lower",
        "support": 5,
        "against": 1,
    }
    gemini.default = lambda r: reply(
        {
            "reasoning": "deeper wins",
            "strong": [
                claim,
                {**claim, "statement": "Likes low voices", "support": 3},
                {"statement": "Hates hiss", "support": 1, "against": 4},
            ],
            "emerging": [{"statement": "Maybe slower {pace}", "support": 2, "against": 1}],
        }
    )
    learner = PreferenceLearner(model="gemini:gemini-test", max_audio_pairs=2)
    deeper = [Criterion(feature="f0_median_hz", kind="lower", weight=1.0)]
    patterns = learner.update(labelled_pairs(features, deeper, 16, seed=3), samples)

    assert [p.statement for p in patterns.strong] == ["Prefers a deeper voice"]
    assert [p.statement for p in patterns.emerging] == ["Maybe slower {pace}"]
    assert 0.5 < patterns.strong[0].confidence < 1
    body = gemini.requests[0]
    parts = body["contents"][0]["parts"]
    audio = [p for p in parts if p.get("inlineData") or p.get("inline_data")]
    assert len(audio) == 4, "two pairs as audio"
    texts = " ".join(p.get("text", "") for p in parts)
    assert "preferred" in texts and "measured" in texts
    system = body["systemInstruction"]["parts"][0]["text"]
    assert "late 50s" in system and "{brief}" not in system
    assert body["generationConfig"]["temperature"] == pytest.approx(0.7)


def test_gemini_analyzer_publishes_the_next_prompt_version(gemini, client, voices) -> None:
    samples, _ = voices
    gemini.default = lambda r: reply(
        {
            "reasoning": "lean into depth",
            "judge_prompt": "Prefer the deepest, slowest take.",
            "criteria": [{"feature": "f0_median_hz", "kind": "lower", "weight": 1.2}],
        }
    )
    prompt = publish_judge_prompt(seed_prompt())
    no_patterns = PreferenceLearner().update([], samples)
    analysis = JudgePromptAnalyzer(model="gemini:gemini-test").rewrite(prompt, no_patterns)
    assert analysis.prompt.text == "Prefer the deepest, slowest take."
    assert analysis.prompt.criteria[0].weight == 1.2
    client.flush()
    latest = client.get(
        weave.ref(f"weave:///{client.entity}/{client.project}/object/judge-prompt:latest")
    )
    assert latest.text == "Prefer the deepest, slowest take."
    system = gemini.requests[0]["systemInstruction"]["parts"][0]["text"]
    assert "late 50s" in system and "(no patterns yet)" in system


def test_rewrite_drops_learned_criteria_no_longer_supported() -> None:
    author = Criterion(feature="syll_rate", kind="lower", weight=0.5)
    learned = Criterion(feature="jitter_st", kind="higher", weight=0.8, source="learned")
    prompt = JudgePrompt(text="judge", criteria=[author, learned])
    rewritten = rewrite_from_patterns(prompt, PreferencePatterns())
    assert rewritten["criteria"] == [author]
