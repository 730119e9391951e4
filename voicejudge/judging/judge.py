"""`SpeechJudge`: ranks voice takes with a `JudgePrompt`, controlling for position bias.

Takes are shown under neutral labels in shuffled orders; every presentation order is judged,
answers are mapped back to sample ids, and a winner is only named when the orders agree.
"""

from __future__ import annotations

import asyncio
import functools
import random
from enum import Enum
from pathlib import Path
from typing import Any

import weave
from pydantic import BaseModel, Field, create_model

from voicejudge.audio.features import FeatureCache
from voicejudge.audio.quality import meta_info
from voicejudge.audio.sample_set import VoiceSample, sample_id_of
from voicejudge.errors import VoiceJudgeError
from voicejudge.learning.rubric import score
from voicejudge.models import OFFLINE_MODEL, ModelRequest, Part, backend_for
from voicejudge.models.running import run_sync
from voicejudge.prompting.judge_prompt import JudgePrompt
from voicejudge.prompts import load_prompt, render
from voicejudge.settings import load_settings
from voicejudge.tracking import ref_uri

LABELS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"


class JudgeError(VoiceJudgeError):
    """The judge cannot run on what it was given."""


class OrderAnswer(BaseModel):
    """The judge's answer for one presentation order, in sample ids."""

    presented: list[str] = Field(description="sample ids in the order they were presented")
    labels: dict[str, str] = Field(description="label -> sample id")
    ranking: list[str] = Field(description="sample ids, best first")
    thinking: str = ""
    scores: dict[str, float] | None = None


class JudgeVerdict(BaseModel):
    """The judge's decision over all presentation orders."""

    winner: str | None = Field(description="best sample id when every order agrees, else None")
    ranking: list[str] = Field(description="consensus ranking, best first ([] if undecided)")
    position_consistency: float = Field(
        description="share of sample pairs ordered alike by all orders"
    )
    per_order: list[OrderAnswer]
    prompt_ref: str | None = None


class SpeechJudge(weave.Model):
    """A judge: a judge prompt (published as a ref) and a model string."""

    prompt: JudgePrompt
    model: str = "acoustic"
    temperature: float = 0.0
    include_meta: bool | None = Field(
        default=None, description="add measured facts per take (default: on for LLM backends)"
    )
    seed: int = 0

    @weave.op(postprocess_inputs=lambda inputs: _ids(inputs))
    def compare(self, a: VoiceSample, b: VoiceSample) -> JudgeVerdict:
        """Judge A-then-B and B-then-A; a winner only when both orders agree."""
        return run_sync(self.acompare(a, b))

    @weave.op(postprocess_inputs=lambda inputs: _ids(inputs))
    def rank(self, samples: list[VoiceSample], orders: int = 2) -> JudgeVerdict:
        """Judge the takes listwise in `orders` shuffled presentations."""
        return run_sync(self.arank(samples, orders))

    async def acompare(self, a: VoiceSample, b: VoiceSample) -> JudgeVerdict:
        return await self._judge([[a, b], [b, a]])

    async def arank(self, samples: list[VoiceSample], orders: int = 2) -> JudgeVerdict:
        if len(samples) > len(LABELS):
            raise JudgeError(f"Cannot rank more than {len(LABELS)} takes at once.")
        return await self._judge(presentation_orders(samples, orders, self.seed))

    async def _judge(self, presentations: list[list[VoiceSample]]) -> JudgeVerdict:
        ids = [s.id for s in presentations[0]]
        if len(set(ids)) != len(ids) or len(ids) < 2:
            raise JudgeError(f"Judge at least two different takes; got {ids}.")
        answers = await asyncio.gather(*(self._answer(order) for order in presentations))
        return _verdict(list(answers), ids, ref_uri(self.prompt))

    async def _answer(self, order: list[VoiceSample]) -> OrderAnswer:
        labels = list(LABELS[: len(order)])
        by_label = dict(zip(labels, order, strict=True))
        if self.model == OFFLINE_MODEL:
            return self._rubric_answer(by_label)
        clips = {label: sample.clip() for label, sample in by_label.items()}
        include_meta = self.include_meta if self.include_meta is not None else True
        meta_note = " Measured acoustic facts follow each take." if include_meta else ""
        parts: list[Part] = []
        cache = FeatureCache(load_settings().feature_cache) if include_meta else None
        for label, clip in clips.items():
            parts += [f"Take {label}:", clip]
            if cache is not None:
                parts.append(f"Take {label} measured: {meta_info(clip, cache)}")
        postfix = render(load_prompt("judge_postfix"), meta_note=meta_note)
        if len(order) == 2:  # pairwise: reason about the clearest differences, then decide
            postfix = f"{load_prompt('ab_verdict').strip()}\n\n{postfix}"
        request = ModelRequest(
            system=f"{self.prompt.text}\n\n{postfix}",
            parts=parts,
            response_type=judge_reply_type(labels),
            temperature=self.temperature,
            check=lambda reply: _check_permutation(reply, labels),
        )
        reply = await backend_for(self.model).generate(request)
        ranking = [by_label[_label(item)].id for item in reply.ranking]
        scores = None
        if getattr(reply, "scores", None):
            scores = {by_label[_label(s.label)].id: s.score for s in reply.scores}
        return OrderAnswer(
            presented=[s.id for s in order],
            labels={label: sample.id for label, sample in by_label.items()},
            ranking=ranking,
            thinking=reply.thinking,
            scores=scores,
        )

    def _rubric_answer(self, by_label: dict[str, VoiceSample]) -> OrderAnswer:
        """The offline judge: each take's score under the prompt's criteria, best first."""
        cache = FeatureCache(load_settings().feature_cache)
        scores = {
            sample.id: round(score(self.prompt.criteria, cache.features(sample.clip())), 4)
            for sample in by_label.values()
        }
        order = [sample.id for sample in by_label.values()]
        ranking = sorted(order, key=lambda i: (-scores[i], order.index(i)))
        return OrderAnswer(
            presented=order,
            labels={label: sample.id for label, sample in by_label.items()},
            ranking=ranking,
            thinking="Rubric scores: " + ", ".join(f"{i} {scores[i]:+.2f}" for i in ranking),
            scores=scores,
        )


def presentation_orders(
    samples: list[VoiceSample], orders: int, seed: int
) -> list[list[VoiceSample]]:
    """A seeded shuffle, then its reverse, then rotations: every take changes position, so a
    judge that favours a position cannot make the orders agree."""
    first = list(samples)
    random.Random(f"{seed}:" + ",".join(sorted(s.id for s in samples))).shuffle(first)
    presentations = [first, first[::-1]]
    for step in range(1, max(2, orders) - 1):
        shift = step * len(first) // (max(2, orders) - 1) or step
        presentations.append(first[shift:] + first[:shift])
    return presentations[: max(2, orders)]


def takes_from_files(paths: list[str]) -> list[VoiceSample]:
    """Takes named by their files, every one decoded and checked before any model sees one."""
    samples = [VoiceSample(id=sample_id_of(Path(path)), audio=Path(path)) for path in paths]
    ids = [sample.id for sample in samples]
    if len(samples) < 2:
        raise JudgeError("Give at least two audio files to judge.")
    duplicates = sorted({i for i in ids if ids.count(i) > 1})
    if duplicates:
        raise JudgeError(f"Files share a name without extension: {', '.join(duplicates)}.")
    for sample in samples:
        sample.clip()
    return samples


def judge_reply_type(labels: list[str]) -> type[BaseModel]:
    """The reply schema for these labels: the ranking may only use them (an enum)."""
    return _reply_type(tuple(labels))


@functools.cache
def _reply_type(labels: tuple[str, ...]) -> type[BaseModel]:
    # types built from labels known only at run time, which a type checker cannot follow
    label_enum: Any = Enum("Label", {label: label for label in labels}, type=str)  # type: ignore[misc]
    label_score: Any = create_model("LabelScore", label=(label_enum, ...), score=(float, ...))
    return create_model(
        "JudgeReply",
        thinking=(str, Field(description="brief reasoning about each take, before ranking")),
        ranking=(
            list[label_enum],
            Field(description="every label exactly once, best take first"),
        ),
        scores=(
            list[label_score] | None,
            Field(default=None, description="optional score per label"),
        ),
    )


def _check_permutation(reply: Any, labels: list[str]) -> None:
    given = [_label(item) for item in reply.ranking]
    if sorted(given) != sorted(labels):
        raise ValueError(
            f"the ranking must list each of {', '.join(labels)} exactly once; got {given}"
        )


def _label(item: Any) -> str:
    return item.value if isinstance(item, Enum) else str(item)


def _verdict(answers: list[OrderAnswer], ids: list[str], prompt_ref: str | None) -> JudgeVerdict:
    pairs = [(x, y) for i, x in enumerate(ids) for y in ids[i + 1 :]]
    positions = [{sample_id: n for n, sample_id in enumerate(a.ranking)} for a in answers]

    def consistent(x: str, y: str) -> bool:
        return len({p[x] < p[y] for p in positions}) == 1

    agreed = sum(consistent(x, y) for x, y in pairs)
    consistency = agreed / len(pairs)
    mean_position = {i: sum(p[i] for p in positions) / len(positions) for i in ids}
    winners = {a.ranking[0] for a in answers}
    winner = winners.pop() if len(winners) == 1 else None
    ranking = sorted(ids, key=lambda i: (mean_position[i], ids.index(i))) if winner else []
    return JudgeVerdict(
        winner=winner,
        ranking=ranking,
        position_consistency=round(consistency, 4),
        per_order=answers,
        prompt_ref=prompt_ref,
    )


def _ids(inputs: dict[str, Any]) -> dict[str, Any]:
    """Trace samples by id (their audio is traced once, with the model call)."""
    out: dict[str, Any] = {}
    for key, value in inputs.items():
        if isinstance(value, VoiceSample):
            out[key] = value.id
        elif isinstance(value, list) and value and isinstance(value[0], VoiceSample):
            out[key] = [sample.id for sample in value]
        else:
            out[key] = value
    return out
