"""Simulated raters: a hidden preference profile that answers comparisons like a person would.

A profile is a utility over the project's normalised features (linear, ideal-point and gate
terms) plus a flip rate. Its answers are seeded per set of takes, so a rater asked the same
comparison again (after a crash, say) answers it the same way. `random_profile` draws tastes
from a documented distribution, for benchmarks on tastes nobody tuned the learner to.
"""

from __future__ import annotations

import json
import random
import tomllib
from collections.abc import Sequence
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import (
    BaseModel,
    Field,
    SerializerFunctionWrapHandler,
    ValidationError,
    model_serializer,
    model_validator,
)
from weave.trace.weave_client import WeaveClient

from voicejudge.audio.features import FEATURE_NAMES, FeatureCache, Features
from voicejudge.audio.sample_set import SampleSet
from voicejudge.errors import VoiceJudgeError, validation_problems
from voicejudge.labels.feedback import RankingFeedback
from voicejudge.labels.ranking import comparison_request, pending_calls, submit_ranking
from voicejudge.learning.rubric import Criterion, score
from voicejudge.learning.terms import FeatureTerm
from voicejudge.settings import load_settings

BUNDLED_PROFILES = Path(str(resources.files("voicejudge.assets").joinpath("raters")))
RANDOM_PREFIX = "random:"


class RaterError(VoiceJudgeError):
    """A rater profile that cannot be read or used."""


class RaterTerm(FeatureTerm):
    """One part of a rater's utility: a term over a feature with its weight. Profiles may
    write a `linear` term with a signed weight, and a gate's limit as a quantile of the set."""

    weight: float = Field(ge=0, description="importance, per z-unit (a gate's: its penalty)")
    quantile: float | None = Field(
        default=None,
        gt=0,
        lt=1,
        description="kind=gate: the limit is this quantile of the set (instead of threshold)",
    )

    @model_validator(mode="before")
    @classmethod
    def _signed_linear(cls, value: Any) -> Any:
        if isinstance(value, dict) and value.get("kind") == "linear":
            weight = value.get("weight", 0)
            if isinstance(weight, int | float):
                kind = "lower" if weight < 0 else "higher"
                return {**value, "kind": kind, "weight": abs(weight)}
        return value

    @model_serializer(mode="wrap")
    def _file_spelling(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        """Written as profile files spell it (a `linear` term with a signed weight), so a
        profile's dump, and the run id hashed from it, are what the file says."""
        data: dict[str, Any] = handler(self)
        if self.kind in ("higher", "lower") and "kind" in data:
            data["kind"] = "linear"
            if "weight" in data:
                data["weight"] = self.weight if self.kind == "higher" else -self.weight
        return data

    @model_validator(mode="after")
    def _one_limit(self) -> RaterTerm:
        if self.kind == "gate" and self.threshold is not None and self.quantile is not None:
            raise ValueError(
                f"the gate term on {self.feature} needs 'threshold' (raw units) or 'quantile' "
                "(of the sample set), not both"
            )
        return self

    def _limit_given_later(self) -> bool:
        return self.quantile is not None

    def _limit_needed(self) -> str:
        return "'threshold' (raw units) or 'quantile' (of the sample set)"

    def as_criterion(self, values: Sequence[float] = ()) -> Criterion | None:
        """The same term as a rubric criterion (None for a zero weight); a quantile gate takes
        its limit from `values`, the feature's raw values over the sample set."""
        if self.weight == 0:
            return None
        threshold = self.threshold
        if self.kind == "gate" and self.quantile is not None:
            if not values:
                raise RaterError(f"the quantile gate on {self.feature} needs the sample set")
            threshold = round(float(np.quantile(np.asarray(values, dtype=float), self.quantile)), 6)
        return Criterion(
            feature=self.feature,
            kind=self.kind,
            target=self.target,
            below=self.below,
            weight=self.weight,
            threshold=threshold,
        )


class RaterProfile(BaseModel):
    """A simulated rater: a name, a flip rate, a seed and the terms of its utility."""

    name: str = Field(min_length=1, pattern=r"^[A-Za-z0-9_.-]+$")
    flip_rate: float = Field(default=0.1, ge=0, le=0.5)
    seed: int = 0
    description: str = ""
    terms: list[RaterTerm] = Field(min_length=1)

    def criteria(self, features: Sequence[Features] = ()) -> list[Criterion]:
        """The utility as a rubric; quantile gates are resolved over `features` (the set's)."""
        columns = {
            term.feature: [
                float(v) for f in features if (v := getattr(f, term.feature)) is not None
            ]
            for term in self.terms
            if term.quantile is not None
        }
        found = (term.as_criterion(columns.get(term.feature, ())) for term in self.terms)
        return [c for c in found if c is not None]

    @property
    def source(self) -> str:
        return f"simulated:{self.name}"


def random_profile(seed: int, features: Sequence[str] = FEATURE_NAMES) -> RaterProfile:
    """A taste drawn from the benchmark distribution: 1-6 terms over distinct features, each
    linear (half of them; weight ±U(0.3, 1.5) per z), target (a quarter; weight U(0.2, 0.8),
    ideal z U(-1.5, 1.5)) or gate (a quarter; weight U(1, 3), at the set's U(0.1, 0.3)
    quantile from below or U(0.7, 0.9) from above); flip rate U(0.05, 0.2)."""
    rng = random.Random(f"profile:{seed}")
    chosen = rng.sample(list(features), rng.randint(1, min(6, len(features))))
    terms = []
    for feature in chosen:
        kind = rng.choices(["linear", "target", "gate"], weights=[2, 1, 1])[0]
        if kind == "linear":
            weight = rng.choice((-1, 1)) * rng.uniform(0.3, 1.5)
            terms.append(RaterTerm(feature=feature, kind="linear", weight=round(weight, 3)))
        elif kind == "target":
            terms.append(
                RaterTerm(
                    feature=feature,
                    kind="target",
                    weight=round(rng.uniform(0.2, 0.8), 3),
                    target=round(rng.uniform(-1.5, 1.5), 3),
                )
            )
        else:
            below = rng.random() < 0.5
            quantile = rng.uniform(0.1, 0.3) if below else rng.uniform(0.7, 0.9)
            terms.append(
                RaterTerm(
                    feature=feature,
                    kind="gate",
                    weight=round(rng.uniform(1.0, 3.0), 3),
                    quantile=round(quantile, 3),
                    below=below,
                )
            )
    return RaterProfile(
        name=f"random-{seed}",
        flip_rate=round(rng.uniform(0.05, 0.2), 3),
        seed=seed,
        description=f"a taste drawn by random_profile({seed})",
        terms=terms,
    )


def load_rater_profile(source: str | Path) -> RaterProfile:
    """A profile from a JSON or TOML file, the name of a bundled one (`assets/raters/`), or
    `random:SEED` for a taste drawn by `random_profile`."""
    if isinstance(source, str) and source.startswith(RANDOM_PREFIX):
        seed = source.removeprefix(RANDOM_PREFIX)
        if not seed.isdigit():
            raise RaterError(f"{source!r}: give a random taste as random:SEED, e.g. random:7.")
        return random_profile(int(seed))
    path = Path(source)
    if not path.exists() and path.suffix == "" and "/" not in str(source):
        bundled = [BUNDLED_PROFILES / f"{source}{suffix}" for suffix in (".json", ".toml")]
        path = next((p for p in bundled if p.exists()), path)
    if not path.is_file():
        names = ", ".join(p.stem for p in bundled_profiles()) or "none"
        raise RaterError(
            f"No rater profile {str(source)!r}: give a JSON or TOML file, a bundled "
            f"profile name ({names}) or random:SEED."
        )
    try:
        text = path.read_text(encoding="utf-8")
        data: Any = tomllib.loads(text) if path.suffix.lower() == ".toml" else json.loads(text)
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise RaterError(f"{path}: cannot read the rater profile ({exc}).") from None
    try:
        return RaterProfile.model_validate(data)
    except ValidationError as exc:
        raise RaterError(
            f"{path}: not a valid rater profile ({validation_problems(exc)})."
        ) from None


def bundled_profiles() -> list[Path]:
    """The example profiles shipped in `assets/raters/`."""
    if not BUNDLED_PROFILES.is_dir():
        return []
    return sorted(p for p in BUNDLED_PROFILES.iterdir() if p.suffix in (".json", ".toml"))


class SimulatedRater:
    """Answers comparisons from a profile's utility, flipping a seeded share of them."""

    def __init__(
        self, profile: RaterProfile, samples: SampleSet, cache: FeatureCache | None = None
    ) -> None:
        self.profile = profile
        self.samples = samples
        self._cache = cache or FeatureCache(load_settings().feature_cache)
        self._utility: dict[str, float] = {}
        self._criteria: list[Criterion] | None = None

    @property
    def name(self) -> str:
        return self.profile.name

    def features(self, sample_id: str) -> Features:
        return self._cache.features(self.samples.get(sample_id).clip())

    @property
    def criteria(self) -> list[Criterion]:
        """The profile as a rubric over this set (quantile gates resolved on its takes)."""
        if self._criteria is None:
            needs_set = any(term.quantile is not None for term in self.profile.terms)
            features = [self.features(i) for i in self.samples.ids] if needs_set else []
            self._criteria = self.profile.criteria(features)
        return self._criteria

    def utility(self, sample_id: str) -> float:
        """How much the rater likes a take, before any noise."""
        if sample_id not in self._utility:
            self._utility[sample_id] = score(self.criteria, self.features(sample_id))
        return self._utility[sample_id]

    def true_choice(self, a: str, b: str) -> str | None:
        """The noise-free preference between two takes; None if the rater cannot tell."""
        ua, ub = self.utility(a), self.utility(b)
        if ua == ub:
            return None
        return a if ua > ub else b

    def rank(self, sample_ids: Sequence[str]) -> list[str]:
        """Best first: by utility, then each neighbouring pair swapped with the flip rate."""
        order = sorted(sample_ids, key=lambda i: (-self.utility(i), i))
        rng = random.Random(f"{self.profile.seed}:" + "|".join(sorted(sample_ids)))
        for position in range(len(order) - 1):
            if rng.random() < self.profile.flip_rate:
                order[position], order[position + 1] = order[position + 1], order[position]
        return order

    def answer(self, call_id: str, client: WeaveClient) -> str:
        """Rank the takes of one `rank_audio` call and store the answer; its feedback id."""
        request = comparison_request(client, call_id)
        feedback = RankingFeedback(
            ranking=self.rank(request.sample_ids),
            rater=self.name,
            presented_order=request.presented_order,
            played=list(request.presented_order),
            source=self.profile.source,
        )
        return submit_ranking(call_id, feedback, client, asked=request)

    def answer_pending(
        self, client: WeaveClient, call_ids: Sequence[str] | None = None
    ) -> list[str]:
        """Answer the pending comparisons of this set that are this rater's to answer (only
        `call_ids`, if given); a person's are left to them."""
        wanted = None if call_ids is None else set(call_ids)
        ids = set(self.samples.ids)
        answered = []
        for call_id in pending_calls(client, self.name, source=self.profile.source):
            if wanted is not None and call_id not in wanted:
                continue
            if set(comparison_request(client, call_id).sample_ids) <= ids:
                self.answer(call_id, client)
                answered.append(call_id)
        return answered
