"""The `voicejudge` command: a thin layer that parses arguments, calls the library, prints.

The commands' handlers live in `cli_store`, `cli_audio`, `cli_rank` and `cli_rounds`."""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from collections.abc import Sequence
from pathlib import Path

from pydantic import ValidationError

from voicejudge import __version__
from voicejudge.app import (
    cli_audio,
    cli_export,
    cli_import,
    cli_rank,
    cli_raters,
    cli_rounds,
    cli_screen,
    cli_store,
)
from voicejudge.app.cli_common import err, safe
from voicejudge.errors import VoiceJudgeError, validation_problems
from voicejudge.settings import offline_defaults


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
    doctor.set_defaults(run=cli_store.doctor_command)

    backup = commands.add_parser(
        "backup", help="copy the trace store, complete and consistent, even while it is in use"
    )
    backup.add_argument("target", type=Path, metavar="FILE", help="the copy (or a folder for it)")
    backup.add_argument("--force", action="store_true", help="replace FILE if it exists")
    backup.set_defaults(run=cli_store.backup_command)

    analyze = commands.add_parser("analyze", help="acoustic features and quality of audio files")
    analyze.add_argument("files", nargs="+", metavar="FILE", help="WAV, FLAC or OGG files")
    analyze.add_argument("--json", action="store_true", help="print JSON instead of a table")
    analyze.set_defaults(run=cli_audio.analyze_command)

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
    judge.set_defaults(run=cli_audio.judge_command)

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
    rank.set_defaults(run=cli_rank.rank_command)

    rounds = commands.add_parser(
        "rounds", help="run alignment rounds: rank, learn, rewrite, evaluate"
    )
    rounds.add_argument(
        "--set",
        dest="sample_set",
        required=True,
        help="folder, manifest or ref; with --raters, the study whose labels are learned from",
    )
    rounds.add_argument("--rater", help="a rater profile (JSON/TOML file or bundled name) or human")
    _panel_options(rounds)
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
    rounds.set_defaults(run=cli_rounds.rounds_command)

    replay = commands.add_parser(
        "replay", help="re-run learn, rewrite and evaluate on a run's stored rankings"
    )
    replay.add_argument("--from-round", type=int, required=True, help="first round to re-run")
    replay.add_argument(
        "--run", dest="run_name", help="the run to replay (default: the latest finished run)"
    )
    _model_options(replay)
    _panel_options(replay)
    replay.add_argument("--json", type=Path, metavar="OUT", help="write the round table as JSON")
    replay.set_defaults(run=cli_rounds.replay_command)

    lineage = commands.add_parser(
        "lineage", help="from a prompt, verdict or evaluation back to the rankings behind it"
    )
    lineage.add_argument("ref", help="a weave:/// object or call ref, or a call id")
    lineage.add_argument("--json", action="store_true", help="print JSON instead of a tree")
    _tracking_options(lineage)
    lineage.set_defaults(run=cli_store.lineage_command)

    importing = commands.add_parser(
        "import", help="bring an existing listening test in as rankings (MUSHRA, MOS or pairs)"
    )
    importing.add_argument(
        "format",
        choices=["mushra", "mos", "pairs"],
        help="mushra: signal,condition,ratings,participant_ids,file rows or "
        "listener,signal,condition,score,file rows; mos: listener,file,score rows; "
        "pairs: listener,preferred,rejected[,tie]",
    )
    importing.add_argument("path", type=Path, help="the CSV file")
    importing.add_argument(
        "--audio", type=Path, required=True, help="the folder the file's audio paths are in"
    )
    importing.add_argument(
        "--set", help="the study the judgements belong to (default: the file's name)"
    )
    importing.add_argument(
        "--scale",
        type=_scale,
        metavar="LOW:HIGH",
        help="mos: the rating scale, e.g. 1:5 for ACR (default: any number)",
    )
    importing.add_argument(
        "--skip-bad",
        action="store_true",
        help="import the good rows of a file with bad ones (default: import nothing)",
    )
    importing.add_argument("--json", action="store_true", help="print the summary as JSON")
    _tracking_options(importing)
    importing.set_defaults(run=cli_import.import_command)

    raters = commands.add_parser(
        "raters", help="agreement between raters: each against the others, and Krippendorff's α"
    )
    raters.add_argument("--set", help="one study's judgements (default: every judgement)")
    raters.add_argument(
        "--png",
        type=Path,
        help="where the agreement picture goes (default: $VOICEJUDGE_HOME/raters/SET.png)",
    )
    raters.add_argument("--json", action="store_true", help="print the figures as JSON")
    _tracking_options(raters)
    raters.set_defaults(run=cli_raters.raters_command)

    screening = commands.add_parser(
        "screen", help="mark raters by a listening-test rule (hidden reference and others)"
    )
    screening.add_argument(
        "rule",
        choices=["hidden-reference", "consistency", "consensus"],
        help="hidden-reference: the reference scored low too often; consistency: repeated "
        "answers that differ; consensus: low agreement with the others",
    )
    screening.add_argument("--set", required=True, help="the study whose raters to screen")
    screening.add_argument(
        "--below",
        type=float,
        help="the limit: a reference score (default: 90), or a share of agreeing answers "
        "(default: 0.7 for consistency, 0.6 for consensus)",
    )
    limit = screening.add_mutually_exclusive_group()
    limit.add_argument(
        "--max-share",
        type=float,
        help="hidden-reference: mark a listener failing more than this share of their trials "
        "(default: 0.15, as ITU-R BS.1534)",
    )
    limit.add_argument(
        "--max-trials",
        type=int,
        help="hidden-reference: mark a listener failing more than this many trials "
        "(default: the share instead)",
    )
    screening.add_argument(
        "--reference",
        default="Reference",
        help="the hidden reference's condition name (default: Reference)",
    )
    screening.add_argument("--json", action="store_true", help="print the marks as JSON")
    _tracking_options(screening)
    screening.set_defaults(run=cli_screen.screen_command)

    export = commands.add_parser("export", help="every stored judgement as CSV or JSON lines")
    export.add_argument(
        "--format", choices=["csv", "jsonl"], default="csv", help="file format (default: csv)"
    )
    export.add_argument("--set", help="one study's judgements (default: every judgement)")
    export.add_argument("--out", type=Path, help="the file to write (default: stdout)")
    _tracking_options(export)
    export.set_defaults(run=cli_export.export_command)

    demo = commands.add_parser("demo", help="the main job: offline alignment on bundled voices")
    demo.add_argument(
        "--rater",
        default=cli_rounds.DEMO_RATER,
        help=f"bundled rater profile (default: {cli_rounds.DEMO_RATER})",
    )
    demo.add_argument(
        "--brief", type=Path, help="character brief to start from (default: the bundled one)"
    )
    _round_options(demo)
    demo.set_defaults(run=cli_rounds.demo_command)

    traces = commands.add_parser("traces", help="list recent traced calls")
    _tracking_options(traces)
    traces.add_argument("--limit", type=int, default=20, help="how many calls (default 20)")
    traces.add_argument("--op", help="only calls of this op name")
    traces.add_argument("--json", action="store_true", help="print JSON instead of a table")
    traces.add_argument("--wide", action="store_true", help="every column in full, however wide")
    traces.set_defaults(run=cli_store.traces_list_command)
    views = traces.add_subparsers(title="views")

    show = views.add_parser("show", help="one call: inputs, output, feedback, children")
    _tracking_options(show)
    show.add_argument("call_id", metavar="CALL_ID", help="a call id, as `voicejudge traces` lists")
    show.add_argument("--json", action="store_true", help="every field and child, as JSON")
    show.set_defaults(run=cli_store.traces_show_command)

    objects = views.add_parser("objects", help="published objects and their versions")
    _tracking_options(objects)
    objects.add_argument("--json", action="store_true", help="print JSON instead of a table")
    objects.add_argument("--all", action="store_true", help="internal ops and objects too")
    objects.add_argument("--wide", action="store_true", help="every column in full, however wide")
    objects.set_defaults(run=cli_store.traces_objects_command)
    return parser


def _panel_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--raters",
        metavar="all|NAME,...|consensus",
        help="a panel run on the study's stored labels: every rater no screening marked "
        "(all), these raters, or their majority (consensus)",
    )
    parser.add_argument(
        "--pool",
        choices=["per-rater", "pooled", "hierarchical"],
        help="a panel run: one judge per rater, one for the group, or the group's rubric as "
        "each rater's prior (default: pooled)",
    )


def _scale(text: str) -> tuple[float, float]:
    try:
        low, high = (float(part) for part in text.split(":"))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"give the scale as LOW:HIGH, e.g. 1:5; got {text!r}"
        ) from None
    if not low < high:
        raise argparse.ArgumentTypeError(f"the scale's LOW must be below its HIGH; got {text!r}")
    return low, high


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


if __name__ == "__main__":
    sys.exit(main())
