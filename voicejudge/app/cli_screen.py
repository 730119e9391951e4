"""The `screen` command: one screening rule run on a study's raters; marked raters stay in the
store, and the table says which rule marked whom and why."""

from __future__ import annotations

import argparse

from rich.table import Table

from voicejudge.app.cli_common import out, print_json, safe


def screen_command(args: argparse.Namespace) -> int:
    from voicejudge.evaluation.screening import screen
    from voicejudge.tracking import init_tracking

    client = init_tracking(project=args.project, backend=args.backend)
    screening = screen(
        client,
        args.set,
        args.rule,
        below=args.below,
        max_share=args.max_share,
        max_trials=args.max_trials,
        reference=args.reference,
    )
    if args.json:
        print_json(
            screening.model_dump(mode="json", include={"study", "rule", "parameters", "marks"})
        )
        return 0
    table = Table("rater", "failed", "of", "marked", "why")
    for mark in screening.marks:
        table.add_row(
            safe(mark.rater),
            str(mark.failed),
            str(mark.total),
            "[bold red]marked[/]" if mark.marked else "",
            safe(mark.reason),
        )
    out.print(table)
    parameters = ", ".join(f"{key} {value}" for key, value in screening.parameters.items())
    marked = screening.marked
    out.print(
        f"{args.rule} ({safe(parameters)}) marked {len(marked)} of {len(screening.marks)} "
        f"raters{': ' + safe(', '.join(marked)) if marked else ''}. Marked raters stay in the "
        "store; `voicejudge raters` shows the marks."
    )
    return 0
