"""The `raters` command: how each rater agrees with the others, Krippendorff's α, and a PNG of
rater × rater agreement."""

from __future__ import annotations

import argparse

from rich.table import Table

from voicejudge.app.cli_common import out, print_json, safe
from voicejudge.errors import VoiceJudgeError


def raters_command(args: argparse.Namespace) -> int:
    from voicejudge.evaluation.panel import (
        panel_agreement,
        plot_panel,
        repeated_answers,
        study_codes,
    )
    from voicejudge.evaluation.screening import latest_marks
    from voicejudge.settings import load_settings
    from voicejudge.tracking import init_tracking

    client = init_tracking(project=args.project, backend=args.backend)
    codes = study_codes(client, args.set)
    if len(codes) < 2:
        where = f"Study {args.set!r}" if args.set else "This store"
        raise VoiceJudgeError(
            f"{where} has judgements by {len(codes)} rater(s); agreement needs "
            "two or more (bring a listening test in with voicejudge import)."
        )
    agreement = panel_agreement(codes, repeats=repeated_answers(client, args.set))
    png = args.png or load_settings().home / "raters" / f"{args.set or 'all'}.png"
    png.parent.mkdir(parents=True, exist_ok=True)
    plot_panel(agreement, str(png))
    marks = latest_marks(client, args.set) if args.set else {}
    if args.json:
        figures = agreement.model_dump(mode="json")
        for rater in figures["raters"]:
            rater["screened_by"] = marks.get(rater["rater"], [])
        print_json({**figures, "png": str(png)})
        return 0
    table = Table(
        "rater", "judgements", "agreement with the others", "pairs compared", "self-consistency"
    )
    if marks:
        table.add_column("screened by")
    for rater in agreement.raters:
        value = rater.agreement_with_others
        cells = [
            safe(rater.rater),
            str(rater.judgements),
            "–" if value is None else f"{value:.3f}",
            str(rater.compared),
            "–"
            if rater.self_consistency is None
            else f"{rater.self_consistency:.2f} of {rater.repeats}",
        ]
        table.add_row(*cells, *([safe(", ".join(marks.get(rater.rater, [])))] if marks else []))
    out.print(table)
    decided = [
        r.agreement_with_others for r in agreement.raters if r.agreement_with_others is not None
    ]
    if decided:
        out.print(f"mean agreement with the others: {sum(decided) / len(decided):.3f}")
    alpha = "–" if agreement.alpha is None else f"{agreement.alpha:.3f}"
    out.print(f"Krippendorff's alpha (ordinal): {alpha}")
    if agreement.pairwise_agreement is not None and agreement.pairwise_ci95 is not None:
        low, high = agreement.pairwise_ci95
        out.print(
            f"two raters agree on {agreement.pairwise_agreement:.3f} of the pairs both "
            f"answered (95% CI {low:.3f}–{high:.3f})"
        )
    out.print(f"agreement picture: {safe(png)}")
    return 0
