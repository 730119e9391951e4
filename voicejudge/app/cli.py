"""The `voicejudge` command: a thin layer that parses arguments, calls the library, prints."""

from __future__ import annotations

import argparse
import json
import signal
import sys
import tempfile
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError
from rich import box
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from voicejudge import __version__
from voicejudge.app.terminal import printable
from voicejudge.errors import ConfigError, VoiceJudgeError, validation_problems
from voicejudge.settings import offline_defaults

if TYPE_CHECKING:
    from weave.trace.weave_client import WeaveClient

    from voicejudge.tracking import Backend

# The demo's simulated rater: a taste that differs from the bundled brief, so learning shows.
DEMO_RATER = "bright"

out = Console()
err = Console(stderr=True)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the console script; returns the process exit code."""
    parser = _parser()
    args = parser.parse_args(argv)
    if not hasattr(args, "run"):
        parser.print_help()
        return 2
    _stop_cleanly_on(signal.SIGTERM, signal.SIGHUP)
    try:
        with offline_defaults():  # before weave, wandb or Gradio is imported
            return args.run(args)
    except VoiceJudgeError as exc:
        _error(str(exc))
        return 1
    except ValidationError as exc:
        _error(f"invalid input: {validation_problems(exc)}")
        return 1
    except OSError as exc:  # a file the user named cannot be read or written, a port in use
        _error(f"{exc.filename}: {exc.strerror or exc}" if exc.filename else str(exc))
        return 1
    except KeyboardInterrupt:
        err.print("interrupted")
        return 130
    finally:
        tracking = sys.modules.get("voicejudge.tracking")
        if tracking is not None:
            tracking.close_tracking()  # merges the store's log: traces.db alone is complete


def _stop_cleanly_on(*signals: signal.Signals) -> None:
    """End on these signals as on Ctrl+C: every `finally` runs, so the app closes and the store
    merges its log (a plain `kill`, systemd and docker stop send SIGTERM)."""

    def stop(number: int, frame: object) -> None:
        raise SystemExit(128 + number)

    if threading.current_thread() is threading.main_thread():
        for number in signals:
            signal.signal(number, stop)


def _error(message: str) -> None:
    err.print(f"[bold red]error:[/] {safe(message)}", highlight=False, soft_wrap=True)


def safe(text: object) -> str:
    """Stored or user-given text for rich: control characters shown, markup inert."""
    return escape(printable(str(text)))


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="voicejudge",
        description="Align an audio LLM judge with one person's taste in voices.",
    )
    parser.add_argument(
        "--version", action="version", version=f"voicejudge {__version__}", help="print the version"
    )
    commands = parser.add_subparsers(title="commands")

    doctor = commands.add_parser(
        "doctor", help="check this machine, where traces go, and the trace store itself"
    )
    doctor.set_defaults(run=_doctor)

    backup = commands.add_parser(
        "backup", help="copy the trace store, complete and consistent, even while it is in use"
    )
    backup.add_argument("target", type=Path, metavar="FILE", help="the copy (or a folder for it)")
    backup.add_argument("--force", action="store_true", help="replace FILE if it exists")
    backup.set_defaults(run=_backup)

    analyze = commands.add_parser("analyze", help="acoustic features and quality of audio files")
    analyze.add_argument("files", nargs="+", metavar="FILE", help="WAV, FLAC or OGG files")
    analyze.add_argument("--json", action="store_true", help="print JSON instead of a table")
    analyze.set_defaults(run=_analyze)

    judge = commands.add_parser("judge", help="judge two takes (both orders) or rank more")
    judge.add_argument("files", nargs="+", metavar="FILE", help="WAV, FLAC or OGG takes")
    judge.add_argument(
        "--prompt", help="judge prompt: a text or JSON file, or a weave:/// ref (default: seed)"
    )
    judge.add_argument(
        "--brief", type=Path, help="judge from this character brief (Markdown), not --prompt"
    )
    judge.add_argument(
        "--model", default="acoustic", help="acoustic or gemini:<model> (default: acoustic)"
    )
    judge.add_argument("--json", action="store_true", help="print JSON instead of text")
    judge.set_defaults(run=_judge)

    rank = commands.add_parser("rank", help="open the ranking app on a sample set")
    rank.add_argument("--set", dest="sample_set", required=True, help="folder, manifest or ref")
    rank.add_argument("--rater", default="", help="your name (can also be typed in the app)")
    rank.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    rank.add_argument("--port", type=int, help="port (default: the first free one from 7860)")
    rank.add_argument(
        "--auth-file",
        type=Path,
        metavar="FILE",
        help="logins, one USER:PASS per line; raters then rank as themselves "
        "(also read: the VOICEJUDGE_AUTH variable)",
    )
    rank.add_argument(
        "--auth",
        action="append",
        default=[],
        metavar="USER:PASS",
        help="a login (repeatable); other users can see it in the process list, "
        "so prefer --auth-file",
    )
    rank.add_argument("--share", action="store_true", help="also open a public Gradio link")
    rank.add_argument(
        "--takes", type=int, default=2, choices=[2, 3, 4], help="takes per page (default: 2)"
    )
    rank.add_argument("--judge", help="model whose agreement is shown and who picks pairs")
    rank.add_argument(
        "--brief", type=Path, help="character brief (Markdown file; default: the bundled one)"
    )
    rank.add_argument("--image", type=Path, help="a picture of the character (PNG, JPEG, ...)")
    rank.add_argument(
        "--show-instructions",
        action="store_true",
        help="show each take's intended delivery (then it is no longer a blind test)",
    )
    rank.add_argument(
        "--run",
        dest="alignment_run",
        metavar="RUN",
        help="answer the comparisons of this alignment run (one started with "
        "`voicejudge rounds --rater human`), held-out ones included "
        "(default: your own comparisons of the set)",
    )
    rank.add_argument(
        "--no-play-check",
        dest="require_play",
        action="store_false",
        help="take an answer before every take was played (default: play every take first)",
    )
    rank.set_defaults(run=_rank)

    rounds = commands.add_parser(
        "rounds", help="run alignment rounds: rank, learn, rewrite, evaluate"
    )
    rounds.add_argument("--set", dest="sample_set", required=True, help="folder, manifest or ref")
    rounds.add_argument(
        "--rater", required=True, help="a rater profile (JSON/TOML file or bundled name) or human"
    )
    rounds.add_argument(
        "--brief", type=Path, help="character brief to start from (default: the bundled one)"
    )
    _round_options(rounds)
    rounds.add_argument(
        "--strategy",
        choices=["sequential", "random", "active"],
        default="active",
        help="how each round's pairs are chosen: the pairs the learner is least sure of "
        "(active), at random, or in order (default: active)",
    )
    _model_options(rounds)
    rounds.add_argument(
        "--heldout",
        type=int,
        default=12,
        metavar="TAKES",
        help="takes kept out of training; every pair of them is asked and judged (default: 12)",
    )
    rounds.add_argument(
        "--seed", type=int, default=0, help="seed of the split and pair choice (default: 0)"
    )
    rounds.add_argument("--json", type=Path, metavar="OUT", help="write the round table as JSON")
    rounds.set_defaults(run=_rounds)

    replay = commands.add_parser(
        "replay", help="re-run learn, rewrite and evaluate on a run's stored rankings"
    )
    replay.add_argument("--from-round", type=int, required=True, help="first round to re-run")
    replay.add_argument(
        "--run", dest="run_name", help="the run to replay (default: the latest finished run)"
    )
    _model_options(replay)
    replay.add_argument("--json", type=Path, metavar="OUT", help="write the round table as JSON")
    replay.set_defaults(run=_replay)

    lineage = commands.add_parser(
        "lineage", help="from a prompt, verdict or evaluation back to the rankings behind it"
    )
    lineage.add_argument("ref", help="a weave:/// object or call ref, or a call id")
    lineage.add_argument("--json", action="store_true", help="print JSON instead of a tree")
    _tracking_options(lineage)
    lineage.set_defaults(run=_lineage)

    demo = commands.add_parser("demo", help="the main job: offline alignment on bundled voices")
    demo.add_argument(
        "--rater", default=DEMO_RATER, help=f"bundled rater profile (default: {DEMO_RATER})"
    )
    demo.add_argument(
        "--brief", type=Path, help="character brief to start from (default: the bundled one)"
    )
    _round_options(demo)
    demo.set_defaults(run=_demo)

    traces = commands.add_parser("traces", help="list recent traced calls")
    _tracking_options(traces)
    traces.add_argument("--limit", type=int, default=20, help="how many calls (default 20)")
    traces.add_argument("--op", help="only calls of this op name")
    traces.add_argument("--json", action="store_true", help="print JSON instead of a table")
    traces.add_argument("--wide", action="store_true", help="every column in full, however wide")
    traces.set_defaults(run=_traces_list)
    views = traces.add_subparsers(title="views")

    show = views.add_parser("show", help="one call: inputs, output, feedback, children")
    _tracking_options(show)
    show.add_argument("call_id", metavar="CALL_ID", help="a call id, as `voicejudge traces` lists")
    show.add_argument("--json", action="store_true", help="every field and child, as JSON")
    show.set_defaults(run=_traces_show)

    objects = views.add_parser("objects", help="published objects and their versions")
    _tracking_options(objects)
    objects.add_argument("--json", action="store_true", help="print JSON instead of a table")
    objects.add_argument("--all", action="store_true", help="internal ops and objects too")
    objects.add_argument("--wide", action="store_true", help="every column in full, however wide")
    objects.set_defaults(run=_traces_objects)
    return parser


def _tracking_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--project", help="Weave project (default: $VOICEJUDGE_PROJECT, else voicejudge)"
    )
    parser.add_argument(
        "--backend",
        choices=["auto", "local", "wandb"],
        default="auto",
        help="where traces live (default: auto)",
    )


def _round_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--rounds", type=int, default=4, help="rounds to reach, after round 0 (default: 4)"
    )
    parser.add_argument(
        "--pairs-per-round",
        type=int,
        default=8,
        metavar="PAIRS",
        help="comparisons asked in each round (default: 8)",
    )


def _model_options(parser: argparse.ArgumentParser) -> None:
    for step in ("judge", "learner", "analyzer"):
        parser.add_argument(
            f"--{step}",
            metavar="MODEL",
            help=f"{step} model: acoustic or gemini:<model> (default: acoustic)",
        )


def _client(args: argparse.Namespace) -> WeaveClient:
    from voicejudge.tracking import init_tracking

    return init_tracking(project=args.project, backend=args.backend)


def _doctor(args: argparse.Namespace) -> int:
    from voicejudge.app.doctor import run_checks
    from voicejudge.settings import load_settings

    results = run_checks(load_settings())
    marks = {
        "ok": "[green]ok[/]",
        "info": "[cyan]--[/]",
        "warn": "[yellow]warn[/]",
        "fail": "[bold red]FAIL[/]",
    }
    table = Table(show_header=False, box=None, pad_edge=False)
    for result in results:
        table.add_row(marks[result.status], result.name, safe(result.detail))
    out.print(table)
    failed = [r.name for r in results if r.status == "fail"]
    if failed:
        err.print(f"[bold red]{len(failed)} check(s) failed:[/] {', '.join(failed)}")
        return 1
    warned = [r.name for r in results if r.status == "warn"]
    out.print("All checks passed" + (f" ({len(warned)} warning(s))." if warned else "."))
    return 0


def _backup(args: argparse.Namespace) -> int:
    from voicejudge.settings import load_settings
    from voicejudge.tracking.store import backup_store

    target = args.target
    if target.is_dir():
        target = target / "traces.db"
    if target.exists() and not args.force:
        raise ConfigError(f"{target} exists: choose another name, or add --force to replace it.")
    if not target.parent.is_dir():
        raise ConfigError(f"{target.parent}: no such folder.")
    source = load_settings().store_path.expanduser().resolve()
    if not source.is_file():
        raise ConfigError(f"There is no trace store at {source} to back up.")
    backup_store(source, target)
    out.print(f"Backed up {safe(source)} to {safe(target)}", highlight=False, soft_wrap=True)
    return 0


def _analyze(args: argparse.Namespace) -> int:
    from voicejudge.audio.analysis import ClipFailure, analyze_files
    from voicejudge.audio.features import FeatureCache
    from voicejudge.settings import load_settings

    settings = load_settings()
    with err.status(f"analysing {len(args.files)} file{'s' * (len(args.files) != 1)}"):
        results = analyze_files(
            args.files,
            cache=FeatureCache(settings.feature_cache),
            max_duration_s=settings.max_clip_seconds,
        )
    failures = [r for r in results if isinstance(r, ClipFailure)]
    if args.json:
        _print_json([r.model_dump(mode="json") for r in results])
    else:
        _print_analysis(results)
    for failure in failures if not args.json else []:
        err.print(f"[bold red]error:[/] {safe(failure.error)}", highlight=False)
    return 1 if failures else 0


def _print_analysis(results: list[Any]) -> None:
    from voicejudge.audio.analysis import ClipReport

    reports = [r for r in results if isinstance(r, ClipReport)]
    if not reports:
        return
    table = Table(
        title=f"{len(reports)} analysed file(s)",
        caption="quality 1-5: noise, coloration, discontinuity, loudness, overall",
        box=None,
        padding=(0, 1, 0, 0),
        pad_edge=False,
    )
    headers = (
        "file",
        "sec",
        "F0",
        "syl/s",
        "LUFS",
        "SNR",
        "kHz",
        "clip%",
        "noi",
        "col",
        "dis",
        "loud",
        "all",
    )
    for header in headers:
        table.add_column(header, justify="left" if header == "file" else "right", no_wrap=True)
    for report in reports:
        f, q = report.features, report.quality
        table.add_row(
            safe(Path(report.file).name),
            f"{f.duration_s:.1f}",
            _maybe(f.f0_median_hz, "{:.0f}"),
            f"{f.syll_rate:.1f}",
            f"{f.lufs:.0f}",
            f"{f.snr_db:.0f}",
            f"{f.bandwidth_hz / 1000:.1f}",
            f"{f.clip_ratio * 100:.1f}",
            *(f"{v:.1f}" for v in (q.noise, q.coloration, q.discontinuity, q.loudness, q.overall)),
        )
    out.print(table)


def _maybe(value: float | None, template: str) -> str:
    return "-" if value is None else template.format(value)


def _judge(args: argparse.Namespace) -> int:
    from voicejudge.judging.judge import SpeechJudge, takes_from_files
    from voicejudge.models import check_model
    from voicejudge.prompting.brief import load_brief
    from voicejudge.prompting.judge_prompt import load_judge_prompt, starting_prompt
    from voicejudge.tracking import init_tracking

    if args.brief is not None and args.prompt is not None:
        raise ConfigError("Give --prompt or --brief, not both.")
    samples = takes_from_files(args.files)  # bad files and models fail before any trace
    check_model(args.model)
    prompt = (
        starting_prompt(load_brief(args.brief))
        if args.brief is not None
        else load_judge_prompt(args.prompt)
    )
    with err.status(f"judging {len(samples)} takes with {safe(args.model)}"):
        init_tracking()
        judge = SpeechJudge(prompt=prompt, model=args.model)
        verdict = judge.compare(*samples) if len(samples) == 2 else judge.rank(samples)
    if args.json:
        data = verdict.model_dump(mode="json")
        _print_json(
            {key: data[key] for key in ("winner", "ranking", "position_consistency", "per_order")}
        )
        return 0
    if verdict.winner:
        out.print(f"[bold green]Winner:[/] {safe(verdict.winner)}", highlight=False)
    else:
        out.print("[bold yellow]No winner:[/] the presentation orders disagree.", highlight=False)
    if verdict.ranking and len(verdict.ranking) > 2:
        out.print("Ranking: " + safe(" > ".join(verdict.ranking)), highlight=False)
    out.print(f"Position consistency: {verdict.position_consistency:.2f}")
    for number, answer in enumerate(verdict.per_order, start=1):
        labels = ", ".join(f"{label}={sample}" for label, sample in answer.labels.items())
        out.print(
            safe(f"Order {number} ({labels}): " + " > ".join(answer.ranking)), highlight=False
        )
        if answer.thinking:
            out.print(f"  [dim]{safe(answer.thinking)}[/]", highlight=False)
    return 0


def _rank(args: argparse.Namespace) -> int:
    from voicejudge.app.desk import RankingDesk
    from voicejudge.app.logins import check_exposure, read_logins
    from voicejudge.audio.sample_set import load_sample_set
    from voicejudge.judging.judge import SpeechJudge
    from voicejudge.labels.ranking import check_person_run
    from voicejudge.models import check_model
    from voicejudge.prompting.brief import load_brief
    from voicejudge.prompting.judge_prompt import starting_prompt

    logins = read_logins(args.auth, args.auth_file)
    check_exposure(args.host, args.share, logins)
    if logins and args.rater:
        raise ConfigError("--rater cannot be used with logins: each rater ranks as their login.")
    port = None if args.port is None else _port(args.port)
    brief = load_brief(args.brief)
    samples = load_sample_set(args.sample_set)
    for sample in samples:
        sample.clip()  # every take must play before anything is served or stored
    if args.judge:
        check_model(args.judge)
    if args.auth:
        err.print(
            "[yellow]warning:[/] --auth puts the password in the process list; "
            "use --auth-file or VOICEJUDGE_AUTH instead.",
            highlight=False,
        )
    from voicejudge.app.ranking_page import (  # imports Gradio: after the checks
        character_image,
        launch,
    )
    from voicejudge.tracking import init_tracking

    if args.image is not None:  # a bad picture fails before the store is opened
        with tempfile.TemporaryDirectory(prefix="voicejudge-image-") as scratch:
            character_image(args.image, Path(scratch))
    client = init_tracking()
    if args.alignment_run is not None:
        check_person_run(client, args.alignment_run)
    judge = SpeechJudge(prompt=starting_prompt(brief), model=args.judge) if args.judge else None
    desk = RankingDesk(
        samples,
        client=client,
        judge=judge,
        takes=args.takes,
        show_instructions=args.show_instructions,
        run=args.alignment_run,
    )
    app = launch(
        desk,
        host=args.host,
        port=port,
        logins=logins,
        share=args.share,
        rater=args.rater,
        brief=brief.text,
        image=args.image,
        require_play=args.require_play,
    )
    signed = f", {len(logins)} login(s)" if logins else ""
    of_run = f" for run {safe(args.alignment_run)}" if args.alignment_run else ""
    out.print(
        f"Ranking {len(samples)} takes from {safe(samples.name)}{of_run} at {safe(app.url)}"
        f"{signed}",
        highlight=False,
    )
    out.print("Press Ctrl+C to stop.")
    try:
        app.block_thread()
    finally:
        app.close()
    return 0


def _port(value: int) -> int:
    if not 1 <= value <= 65535:
        raise ConfigError(f"--port must be between 1 and 65535; got {value}.")
    return value


def _rounds(args: argparse.Namespace) -> int:
    from voicejudge.labels.simulated_raters import load_rater_profile
    from voicejudge.loop.runner import check_run
    from voicejudge.loop.state import HUMAN, LoopConfig
    from voicejudge.prompting.brief import load_brief

    config = LoopConfig(
        sample_set=args.sample_set,
        rater=None if args.rater == HUMAN else load_rater_profile(args.rater),
        brief=load_brief(args.brief).text,
        pairs_per_round=_at_least(args.pairs_per_round, 1, "--pairs-per-round"),
        strategy=args.strategy,
        judge_model=args.judge or "acoustic",
        learner_model=args.learner or "acoustic",
        analyzer_model=args.analyzer or "acoustic",
        heldout=_at_least(args.heldout, 3, "--heldout"),
        seed=_at_least(args.seed, 0, "--seed"),
    )
    rounds = _at_least(args.rounds, 1, "--rounds")
    samples = check_run(config, rounds)  # before the store is opened: bad input writes nothing
    return _run_alignment(config, rounds, "rounds", args.json, samples=samples)


def _replay(args: argparse.Namespace) -> int:
    from voicejudge.loop.alignment import replay_config
    from voicejudge.tracking import init_tracking

    config, rounds = replay_config(
        init_tracking(),
        run=args.run_name,
        from_round=args.from_round,
        judge_model=args.judge,
        analyzer_model=args.analyzer,
        learner_model=args.learner,
    )
    return _run_alignment(config, rounds, "replay", args.json)


def _demo(args: argparse.Namespace) -> int:
    from voicejudge.audio.sample_set import BUNDLED_VOICES
    from voicejudge.labels.simulated_raters import load_rater_profile
    from voicejudge.loop.state import LoopConfig
    from voicejudge.prompting.brief import load_brief

    config = LoopConfig(
        sample_set=str(BUNDLED_VOICES),
        rater=load_rater_profile(args.rater),
        brief=load_brief(args.brief).text,
        pairs_per_round=_at_least(args.pairs_per_round, 1, "--pairs-per-round"),
        strategy="active",
    )
    out.print(
        f"Demo: simulated rater [bold]{safe(config.rater_name)}[/] ranks the bundled voices; "
        f"{args.rounds} round{'s' * (args.rounds != 1)} of {config.pairs_per_round} active "
        "pairs, offline.",
        highlight=False,
    )
    return _run_alignment(
        config, _at_least(args.rounds, 1, "--rounds"), "demo", None, backend="local"
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


def _lineage(args: argparse.Namespace) -> int:
    from rich.text import Text
    from rich.tree import Tree

    from voicejudge.loop.lineage import lineage
    from voicejudge.tracking import init_tracking
    from voicejudge.tracking.refs import project_of

    project = args.project
    if project is None and args.ref.startswith("weave:///"):
        project = project_of(args.ref)
    tree = lineage(args.ref, init_tracking(project=project, backend=args.backend))
    if args.json:
        _print_json(tree.model_dump(mode="json"))
        return 0

    def label(text: str) -> Text:
        return Text(printable(text), overflow="fold")  # wrap, never crop: ids stay whole

    def add(branch: Any, node: Any) -> None:
        for child in node.children:
            add(branch.add(label(child.label), highlight=False), child)

    root = Tree(label(tree.label), highlight=False)
    add(root, tree)
    out.print(root)
    return 0


def _at_least(value: int, low: int, option: str) -> int:
    if value < low:
        raise ConfigError(f"{option} must be at least {low}; got {value}.")
    return value


def _traces_list(args: argparse.Namespace) -> int:
    from voicejudge.tracking.browse import recent_calls
    from voicejudge.tracking.views import calls_lines

    calls = recent_calls(_client(args), limit=_at_least(args.limit, 1, "--limit"), op=args.op)
    if args.json:
        _print_json([c.model_dump(mode="json") for c in calls])
        return 0
    if not calls and args.op:
        out.print(
            f"No calls of op {safe(args.op)!r}: give the op's full name as `voicejudge traces` "
            "lists it (for example AlignmentLoop.run_round).",
            highlight=False,
        )
        return 0
    if not calls:
        out.print("No traced calls yet.")
        return 0
    _print_lines(calls_lines(calls, out.width, wide=args.wide), wide=args.wide)
    return 0


def _traces_show(args: argparse.Namespace) -> int:
    from voicejudge.tracking.browse import call_detail, ref_labels
    from voicejudge.tracking.views import call_lines

    client = _client(args)
    detail = call_detail(client, args.call_id)
    if args.json:
        _print_json(detail.model_dump(mode="json"))
        return 0
    refs = ref_labels(client, detail.inputs, detail.output, [f.payload for f in detail.feedback])
    _print_lines(call_lines(detail, out.width, refs), wide=False)
    return 0


def _traces_objects(args: argparse.Namespace) -> int:
    from voicejudge.tracking.browse import object_versions
    from voicejudge.tracking.views import objects_lines

    objects = object_versions(_client(args))
    if args.json:
        _print_json([o.model_dump(mode="json") for o in objects if args.all or not o.internal])
        return 0
    if not objects:
        out.print("No published objects yet.")
        return 0
    _print_lines(
        objects_lines(objects, out.width, show_internal=args.all, wide=args.wide), args.wide
    )
    return 0


def _print_lines(lines: list[Any], wide: bool) -> None:
    """Lines of a trace view, as laid out: wide ones are left to the terminal to wrap."""
    for line in lines:
        out.print(line, soft_wrap=wide, crop=not wide)


def _print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2, default=str) + "\n")


if __name__ == "__main__":
    sys.exit(main())
