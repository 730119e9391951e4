"""Alignment runs, resumable from the store: everything a run needs to continue is traced, and
pair choice is deterministic given the answers so far, so re-running a command after a crash
makes only what is missing and never asks or stores a comparison twice."""

from __future__ import annotations

from collections.abc import Callable

from weave.trace.weave_client import WeaveClient

from voicejudge.audio.sample_set import SampleSet, load_sample_set
from voicejudge.loop.alignment_loop import AlignmentLoop
from voicejudge.loop.panel_run import PanelLoop
from voicejudge.loop.results import (
    Progress,
    RoundResult,
    RunResult,
    RunStep,
    finished_rounds,
    store_location,
)
from voicejudge.loop.state import LoopConfig, LoopError, learner_for
from voicejudge.models import check_model
from voicejudge.prompting.judge_prompt import (
    JudgePrompt,
    load_judge_prompt,
    publish_judge_prompt,
)
from voicejudge.prompting.rewrite import JudgePromptAnalyzer
from voicejudge.tracking.gateway import step_attributes


def check_run(config: LoopConfig, rounds: int, samples: SampleSet | None = None) -> SampleSet:
    """Everything that can be wrong with a run before it writes anything: the set and every
    clip in it, the held-out size, the models and whether there are pairs enough to ask."""
    if rounds < 1:
        raise LoopError("Run at least one round.")
    samples = samples or load_sample_set(config.sample_set)
    for sample in samples:
        sample.clip()
    if len(samples) < config.heldout + 2:
        raise LoopError(
            f"The set has {len(samples)} takes: too few to keep {config.heldout} for evaluation "
            "and still rank pairs; lower --heldout."
        )
    for model in (config.judge_model, config.learner_model, config.analyzer_model):
        check_model(model)
    pool = len(samples) - config.heldout
    available = pool * (pool - 1) // 2
    wanted = config.pairs_per_round * (rounds - config.start_round + 1)
    if not config.labels_from and not config.is_panel and wanted > available:
        raise LoopError(
            f"{rounds} rounds of {config.pairs_per_round} pairs need {wanted} comparisons, but "
            f"the {pool} ranking takes make only {available} pairs; use fewer rounds or pairs "
            "per round, or a larger set."
        )
    return samples


def prepare_run(
    config: LoopConfig, client: WeaveClient, samples: SampleSet
) -> tuple[str, JudgePrompt]:
    """The run's name and the prompt it starts from (published, so it has a ref)."""
    return config.run_id(samples.ids), _start_prompt(config, client)


def _start_prompt(config: LoopConfig, client: WeaveClient) -> JudgePrompt:
    """The brief's starting prompt; for a replay from round R, the prompt its source had after
    round R-1."""
    if not config.labels_from or config.start_round == 1:
        return publish_judge_prompt(config.starting_prompt)
    before = config.start_round - 1
    for source in (config.prompts_from, config.labels_from):
        if source is None:
            continue
        done = finished_rounds(client, source)
        if before in done and done[before].prompt_ref:
            return load_judge_prompt(done[before].prompt_ref)
    raise LoopError(
        f"Run {config.prompts_from or config.labels_from} has no finished round {before}."
    )


def run_rounds(
    config: LoopConfig,
    rounds: int,
    *,
    client: WeaveClient,
    progress: Progress | None = None,
    on_round: Callable[[RoundResult], None] | None = None,
    samples: SampleSet | None = None,
    poll_s: float = 2.0,
) -> RunResult:
    """Run (or continue) rounds 1..`rounds` of the run `config` defines; with a person as the
    rater, the store is checked for their answers every `poll_s` seconds."""
    samples = check_run(config, rounds, samples)
    run, prompt = prepare_run(config, client, samples)
    loop: AlignmentLoop | PanelLoop
    if config.is_panel:
        loop = panel_loop(config, run, rounds)
    else:
        loop = AlignmentLoop(
            run=run,
            config=config,
            learner=learner_for(config),
            analyzer=JudgePromptAnalyzer(model=config.analyzer_model),
            poll_s=poll_s,
        )
    loop.attach(samples, client, progress, last_round=rounds)
    done = finished_rounds(client, run)
    results: list[RoundResult] = []
    first = 0 if config.start_round == 1 else config.start_round
    loop.say(*_opening(config, run, done, first, rounds))
    for number in range(first, rounds + 1):
        if number in done:
            result = done[number]
            loop.say("round_done", number, f"round {number}: already done ({result.labels} labels)")
        else:
            # marked on this call only (not its children), so the run is found by what it is
            marked = {"display_name": None, "attributes": step_attributes("round", run)}
            result = loop.run_round(number, prompt, __weave=marked)
            ceiling = (
                f", human ceiling {result.human_ceiling:.3f}"
                if result.human_ceiling is not None
                else ""
            )
            loop.say(
                "round_finished",
                number,
                f"round {number}: agreement {result.agreement:.3f} on {result.heldout_pairs} "
                f"held-out pairs ({result.labels} labels){ceiling}",
            )
        results.append(result)
        if on_round is not None:
            on_round(result)
        if result.prompt_ref is not None:
            prompt = load_judge_prompt(result.prompt_ref)  # carries its ref: the next parent
    return RunResult(
        run=run,
        rater=config.rater_name,
        rounds=results,
        store=store_location(client),
        ceiling=None if config.rater is None else round(1 - config.rater.flip_rate, 4),
    )


def panel_loop(config: LoopConfig, run: str, rounds: int) -> PanelLoop:
    """The loop of a panel run: the study's raters, pooled as the config says."""
    if config.rounds is not None and config.rounds != rounds:
        raise LoopError(
            f"Run {run} spreads its training over {config.rounds} rounds; run it with "
            f"--rounds {config.rounds}."
        )
    return PanelLoop(
        run=run,
        config=config,
        rounds=config.rounds or rounds,
        learner=learner_for(config),
        analyzer=JudgePromptAnalyzer(model=config.analyzer_model),
    )


def _opening(
    config: LoopConfig, run: str, done: dict[int, RoundResult], first: int, last: int
) -> tuple[RunStep, int, str]:
    """What a command does with a run: start it, continue it at the first missing round, or
    replay another run's rankings."""
    if config.labels_from:
        return (
            "replaying",
            first,
            f"replaying the rankings of run {config.labels_from} as run {run}: "
            f"{_span(first, last)}",
        )
    missing = [n for n in range(first, last + 1) if n not in done]
    if not done:
        return "started", first, f"starting run {run}: {_span(first, last)}"
    if not missing:
        return "continued", last, f"run {run} already has {_span(first, last)}"
    at = missing[0]
    finished = "nothing" if at == first else _span(first, at - 1)
    return "continued", at, f"continuing run {run} at round {at} ({finished} done)"


def _span(first: int, last: int) -> str:
    return f"round {first}" if first == last else f"rounds {first}-{last}"
