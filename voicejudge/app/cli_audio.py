"""The commands on audio files: `analyze` (features and quality) and `judge` (a verdict on
two or more takes)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from rich.table import Table

from voicejudge.app.cli_common import err, out, print_json, safe
from voicejudge.errors import ConfigError


def analyze_command(args: argparse.Namespace) -> int:
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
        print_json([r.model_dump(mode="json") for r in results])
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


def judge_command(args: argparse.Namespace) -> int:
    from voicejudge.judging.judge import SpeechJudge, takes_from_files
    from voicejudge.learning.brief import load_brief
    from voicejudge.models import check_model
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
        print_json(
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
