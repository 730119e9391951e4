"""What a run produces and tells its watcher: round and run results, progress events, and the
finished rounds read back from the store."""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

import weave
from pydantic import BaseModel, Field, PrivateAttr
from weave.trace.weave_client import WeaveClient

from voicejudge.audio.sample_set import SampleSet
from voicejudge.evaluation.heldout import Decision
from voicejudge.loop.state import LoopConfig
from voicejudge.tracking.gateway import plain_record, step_calls


class RoundResult(BaseModel):
    """One finished round: how many labels it had, how the judge did, and what it made."""

    run: str
    round: int
    labels: int = Field(description="training comparisons so far (cumulative)")
    agreement: float
    agreement_true: float | None
    kappa: float
    ci95: tuple[float, float]
    position_consistency: float
    kendall_tau: float | None
    undecided: int
    heldout_pairs: int
    prompt_ref: str | None
    patterns_ref: str | None
    call_ids: list[str] = Field(description="this round's rank_audio calls")
    decisions: list[Decision] = Field(default_factory=list)
    by_rater: dict[str, float] = Field(
        default_factory=dict, description="panel runs: agreement with each rater"
    )
    consensus_agreement: float | None = Field(
        default=None, description="panel runs: how often the judge sides with the others' majority"
    )
    human_ceiling: float | None = Field(
        default=None, description="panel runs: how often a rater sides with the others' majority"
    )
    rater_prompts: dict[str, str] = Field(
        default_factory=dict, description="panel runs: the prompt each rater is judged with"
    )
    prior_precision: float | None = Field(
        default=None, description="hierarchical runs: how firmly raters hold to the group"
    )


class RunResult(BaseModel):
    """A run's rounds, in order, and where its traces are."""

    run: str
    rater: str
    rounds: list[RoundResult]
    store: str
    ceiling: float | None = Field(
        default=None, description="the best agreement the rater's labels allow (1 - flip rate)"
    )


RunStep = Literal[
    "started",
    "continued",
    "replaying",
    "round_done",
    "asking",
    "waiting",
    "learning",
    "judging",
    "round_finished",
    "writing",
]


class RunEvent(BaseModel):
    """A step of a run, for whoever watches it (the CLI's progress bar, a log, a test): what
    kind of step, which run and round, and one line a person can read."""

    kind: RunStep
    run: str
    round: int | None = None
    last_round: int = Field(description="the last round this command runs")
    count: int | None = Field(default=None, description="comparisons this step is about")
    message: str


Progress = Callable[[RunEvent], None]


def finished_rounds(client: WeaveClient, run: str) -> dict[int, RoundResult]:
    """The rounds of `run` that completed, by number (the latest result of each)."""
    found: dict[int, RoundResult] = {}
    for call in step_calls(client, "round", run=run):
        output = call.output
        if call.exception is None and isinstance(output, dict) and output.get("run") == run:
            found[int(output["round"])] = RoundResult.model_validate(plain_record(output))
    return found


def store_location(client: WeaveClient) -> str:
    """Where the traces are: the store file, or the hosted project."""
    path = getattr(client.server, "path", None)
    return str(path) if path is not None else f"{client.entity}/{client.project}"


class RunLoop(weave.Model):
    """What every kind of run's loop has: its name and config, and, attached when a command
    runs it, the audio, the store and whoever watches."""

    run: str
    config: LoopConfig

    _samples: SampleSet = PrivateAttr()
    _client: WeaveClient = PrivateAttr()
    _progress: Progress | None = PrivateAttr(default=None)
    _last_round: int = PrivateAttr(default=0)

    def attach(
        self,
        samples: SampleSet,
        client: WeaveClient,
        progress: Progress | None = None,
        last_round: int = 0,
    ) -> None:
        """Give the loop what is not part of its identity: the audio, the store, a progress
        callback and the last round the command runs."""
        self._samples, self._client = samples, client
        self._progress, self._last_round = progress, last_round

    def say(
        self, kind: RunStep, number: int | None, message: str, count: int | None = None
    ) -> None:
        """Tell whoever watches the run about a step of it."""
        if self._progress is not None:
            self._progress(
                RunEvent(
                    kind=kind,
                    run=self.run,
                    round=number,
                    last_round=self._last_round,
                    count=count,
                    message=message,
                )
            )
