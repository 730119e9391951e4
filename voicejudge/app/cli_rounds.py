"""The alignment commands, `rounds`, `replay` and `demo`: a run with its live progress, then
its round table and where its results are."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich import box
from rich.table import Table

from voicejudge.app.cli_common import at_least, err, out, safe

if TYPE_CHECKING:
    from voicejudge.tracking import Backend

# The demo's simulated rater: a taste that differs from the bundled brief, so learning shows.
DEMO_RATER = "bright"


def rounds_command(args: argparse.Namespace) -> int:
    from voicejudge.labels.simulated_raters import load_rater_profile
    from voicejudge.learning.brief import load_brief
    from voicejudge.loop.runner import check_run
    from voicejudge.loop.state import HUMAN, LoopConfig, LoopError

    if args.raters is None and args.pool is not None:
        raise LoopError("--pool pools the raters of a panel run: give --raters too.")
    if args.raters is not None and args.rater is not None:
        raise LoopError("--rater runs one rater's rounds, --raters a panel's: give one of them.")
    if args.raters is None and args.rater is None:
        raise LoopError(
            "Say whose taste the judge learns: --rater PROFILE|human, or --raters for a panel."
        )
    config = LoopConfig(
        sample_set=args.sample_set,
        rater=None if args.rater in (HUMAN, None) else load_rater_profile(args.rater),
        brief=load_brief(args.brief).text,
        pairs_per_round=at_least(args.pairs_per_round, 1, "--pairs-per-round"),
        strategy=args.strategy,
        judge_model=args.judge or "acoustic",
        learner_model=args.learner or "acoustic",
        analyzer_model=args.analyzer or "acoustic",
        heldout=at_least(args.heldout, 3, "--heldout"),
        seed=at_least(args.seed, 0, "--seed"),
        pool=args.pool or "pooled",
    )
    rounds = at_least(args.rounds, 1, "--rounds")
    if args.raters is not None:
        from voicejudge.loop.panel_config import panel_config
        from voicejudge.tracking import init_tracking

        config, samples = panel_config(
            init_tracking(), config, study=args.sample_set, raters=args.raters, rounds=rounds
        )
        check_run(config, rounds, samples)
        return _run_alignment(config, rounds, "rounds", args.json, samples=samples)
    samples = check_run(config, rounds)  # before the store is opened: bad input writes nothing
    return _run_alignment(config, rounds, "rounds", args.json, samples=samples)


def replay_command(args: argparse.Namespace) -> int:
    from voicejudge.loop.alignment import replay_config
    from voicejudge.tracking import init_tracking

    config, rounds = replay_config(
        init_tracking(),
        run=args.run_name,
        from_round=args.from_round,
        judge_model=args.judge,
        analyzer_model=args.analyzer,
        learner_model=args.learner,
        raters=args.raters,
        pool=args.pool,
    )
    return _run_alignment(config, rounds, "replay", args.json)


def demo_command(args: argparse.Namespace) -> int:
    from voicejudge.audio.sample_set import BUNDLED_VOICES
    from voicejudge.labels.simulated_raters import load_rater_profile
    from voicejudge.learning.brief import load_brief
    from voicejudge.loop.state import LoopConfig

    config = LoopConfig(
        sample_set=str(BUNDLED_VOICES),
        rater=load_rater_profile(args.rater),
        brief=load_brief(args.brief).text,
        pairs_per_round=at_least(args.pairs_per_round, 1, "--pairs-per-round"),
        strategy="active",
    )
    out.print(
        f"Demo: simulated rater [bold]{safe(config.rater_name)}[/] ranks the bundled voices; "
        f"{args.rounds} round{'s' * (args.rounds != 1)} of {config.pairs_per_round} active "
        "pairs, offline.",
        highlight=False,
    )
    return _run_alignment(
        config, at_least(args.rounds, 1, "--rounds"), "demo", None, backend="local"
    )


def _run_alignment(
    config: Any,
    rounds: int,
    job_type: str,
    json_out: Path | None,
    backend: Backend = "auto",
    samples: Any = None,
) -> int:
    from voicejudge.loop.alignment import align, rounds_json
    from voicejudge.tracking import init_tracking

    client = init_tracking(backend=backend)
    try:
        with _RunProgress() as progress:
            outcome = align(
                config,
                rounds,
                client=client,
                job_type=job_type,
                progress=progress,
                samples=samples,
            )
    except KeyboardInterrupt:
        err.print("stopped; the answers so far are saved: re-run the same command to continue.")
        return 130
    result = outcome.result
    _print_rounds(result.rounds)
    if result.ceiling is not None:
        out.print(f"The rater's ceiling (1 - flip rate): {result.ceiling:.2f}", highlight=False)
    if json_out is not None:
        json_out.parent.mkdir(parents=True, exist_ok=True)
        json_out.write_text(
            json.dumps(rounds_json(result, outcome.wandb_run), indent=2), encoding="utf-8"
        )
    final = result.rounds[-1].prompt_ref
    for name, value in (
        ("run", result.run),
        ("final prompt", final),
        ("plot", outcome.curve),
        ("report", outcome.report),
        ("trace store", result.store),
        ("W&B run", outcome.wandb_run),
    ):
        out.print(f"{name + ':':14} {safe(value)}", highlight=False, soft_wrap=True)
    if final:
        from voicejudge.loop.report import learned_beyond_brief, patterns_of
        from voicejudge.prompting.judge_prompt import load_judge_prompt

        prompt = load_judge_prompt(final)
        out.print(safe(learned_beyond_brief(prompt, patterns_of(prompt))), highlight=False)
        out.print(f"Lineage: voicejudge lineage {safe(final)}", highlight=False, soft_wrap=True)
    return 0


class _RunProgress:
    """A live bar over a run's rounds with its current step; the steps worth keeping (what
    was started, continued or replayed, each question asked, each round's result) print as
    lines above it, so a piped or finished command still shows them."""

    _LASTING = frozenset(
        {"started", "continued", "replaying", "round_done", "asking", "round_finished"}
    )

    def __init__(self) -> None:
        from rich.progress import (
            BarColumn,
            Progress,
            SpinnerColumn,
            TextColumn,
            TimeElapsedColumn,
        )

        self._bar = Progress(
            SpinnerColumn(),
            TextColumn("[progress.description]{task.description}"),
            BarColumn(bar_width=20),
            TextColumn("{task.completed}/{task.total} rounds"),
            TimeElapsedColumn(),
            console=out,
            transient=True,
        )
        self._task = self._bar.add_task("opening the store and the W&B run", total=None)
        self._waiting: str | None = None

    def __enter__(self) -> _RunProgress:
        self._bar.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._bar.stop()

    def __call__(self, event: Any) -> None:
        if event.kind in ("started", "continued", "replaying"):
            self._bar.update(self._task, total=event.last_round + 1, completed=event.round)
        elif event.kind in ("round_done", "round_finished"):
            self._bar.update(self._task, completed=event.round + 1)
        self._bar.update(self._task, description=safe(event.message))
        lasting = event.kind in self._LASTING
        if event.kind == "waiting" and event.message != self._waiting:
            self._waiting, lasting = event.message, True
        if lasting:
            style = "bold" if event.kind in ("started", "continued", "replaying") else ""
            self._bar.console.print(f"  {safe(event.message)}", style=style, highlight=False)


def _print_rounds(rounds: list[Any]) -> None:
    from voicejudge.loop.report import round_columns

    columns = round_columns(rounds)
    # each column as wide as its longest word or value: spelled-out headings fit in 80 columns
    table = Table(
        title="Held-out agreement by round",
        box=box.SIMPLE_HEAD,
        show_edge=False,
        pad_edge=False,
        padding=(0, 1),
        collapse_padding=True,
    )
    cells = [[column.cell(r) for column in columns] for r in rounds]
    for index, column in enumerate(columns):
        words = [len(word) for word in column.heading.split()] + [len(c[index]) for c in cells]
        table.add_column(column.heading, justify="right", width=max(words))
    for row in cells:
        table.add_row(*row)
    out.print(table)
