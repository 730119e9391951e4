"""The `rank` command: the options, logins, set and picture checked first, then the ranking
page served until Ctrl+C."""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from voicejudge.app.cli_common import err, out, safe
from voicejudge.errors import ConfigError


def rank_command(args: argparse.Namespace) -> int:
    from voicejudge.app.desk import RankingDesk
    from voicejudge.app.logins import check_exposure, read_logins
    from voicejudge.audio.sample_set import load_sample_set
    from voicejudge.judging.judge import SpeechJudge
    from voicejudge.labels.ranking import check_person_run
    from voicejudge.learning.brief import load_brief
    from voicejudge.models import check_model
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
