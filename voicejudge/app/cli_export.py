"""The `export` command: every stored judgement as CSV or JSON lines, written whole."""

from __future__ import annotations

import argparse
import os
import sys
import tempfile

from voicejudge.app.cli_common import err


def export_command(args: argparse.Namespace) -> int:
    from voicejudge.labels.export import export_judgements, judgement_rows
    from voicejudge.tracking import init_tracking

    client = init_tracking(project=args.project, backend=args.backend)
    rows = judgement_rows(client, args.set)
    text = export_judgements(rows, args.format)
    if args.out is None:
        sys.stdout.write(text)
        return 0
    # written beside the target and moved over it, so a failed export leaves no half file
    handle, temporary = tempfile.mkstemp(dir=args.out.parent or ".", prefix=".export-")
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="") as stream:
            stream.write(text)
        os.replace(temporary, args.out)
    except BaseException:
        os.unlink(temporary)
        raise
    err.print(f"{len(rows)} judgements written to {args.out}")
    return 0
