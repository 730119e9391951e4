"""The `import` command: an existing listening test (MUSHRA scores, stated pairs) becomes
feedback on traced `rank_audio` calls, checked whole before anything is stored."""

from __future__ import annotations

import argparse

from voicejudge.app.cli_common import out, print_json, safe


def import_command(args: argparse.Namespace) -> int:
    from voicejudge.labels.imports import import_listening_test, read_listening_test
    from voicejudge.tracking import init_tracking

    test = read_listening_test(args.format, args.path, args.audio, scale=args.scale)
    client = init_tracking(project=args.project, backend=args.backend)
    study = args.set or args.path.stem
    summary = import_listening_test(test, study, client, skip_bad=args.skip_bad)
    if args.json:
        print_json(summary.model_dump(mode="json"))
        return 0
    out.print(
        f"Imported {summary.judgements} judgements by {summary.raters} raters into study "
        f"{safe(study)}: {summary.stored} new, {summary.ties} ties, "
        f"{summary.calls_asked} comparisons asked."
    )
    if summary.rows_without_audio:
        out.print(
            f"Left out {len(summary.rows_without_audio)} rows whose condition has no audio "
            f"(lines {_lines(summary.rows_without_audio)})."
        )
    if summary.rows_left_out:
        out.print(
            f"Skipped {len(summary.rows_left_out)} bad rows (lines "
            f"{_lines(summary.rows_left_out)})."
        )
    return 0


def _lines(lines: list[int]) -> str:
    shown = ", ".join(str(line) for line in lines[:12])
    return shown + (", …" if len(lines) > 12 else "")
