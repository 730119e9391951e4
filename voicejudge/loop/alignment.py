"""An alignment command from start to finish: the rounds, a W&B run around them, the curve,
the report and the round table on disk. `voicejudge rounds`, `replay` and `demo` are this."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydantic import BaseModel
from weave.trace.weave_client import WeaveClient

from voicejudge.audio.sample_set import SampleSet
from voicejudge.loop.panel_config import panel_config
from voicejudge.loop.panel_labels import PoolMode
from voicejudge.loop.report import plot_curve, round_rows, write_report
from voicejudge.loop.results import (
    Progress,
    RunEvent,
    RunResult,
    finished_rounds,
    store_location,
)
from voicejudge.loop.runner import check_run, run_rounds
from voicejudge.loop.state import LoopConfig, LoopError
from voicejudge.loop.wandb_run import RunLog
from voicejudge.prompting.judge_prompt import load_judge_prompt
from voicejudge.settings import load_settings
from voicejudge.tracking import read_object_value
from voicejudge.tracking.gateway import plain_record, step_calls


class AlignmentOutcome(BaseModel):
    """A finished command: its rounds and the files and runs it left."""

    result: RunResult
    curve: Path
    report: Path
    table: Path
    wandb_run: str


def align(
    config: LoopConfig,
    rounds: int,
    *,
    client: WeaveClient,
    job_type: str = "rounds",
    progress: Progress | None = None,
    samples: SampleSet | None = None,
) -> AlignmentOutcome:
    """Run or continue `rounds` rounds inside a W&B run, then write the curve and report."""
    samples = check_run(config, rounds, samples)  # bad input fails before anything is written
    log = RunLog.start(
        name=f"{job_type}-{config.rater_name}",
        job_type=job_type,
        config={"store": store_location(client), **config.model_dump(mode="json")},
        client=client,
        online=getattr(client.server, "path", None) is None,  # online only beside hosted traces
    )
    try:
        result = run_rounds(
            config, rounds, client=client, progress=progress, on_round=log.round, samples=samples
        )
    except BaseException:
        log.abandon()
        raise
    if progress is not None:
        progress(
            RunEvent(
                kind="writing",
                run=result.run,
                last_round=rounds,
                message="writing the curve, the report and the W&B run",
            )
        )
    folder = load_settings().home.resolve() / "runs" / result.run
    curve = plot_curve(result, folder / "alignment-curve.png")
    final = result.rounds[-1].prompt_ref if result.rounds else None
    final_prompt = load_judge_prompt(final) if final else None
    report = write_report(
        result, folder / "report.md", final_prompt=final_prompt, curve=curve, wandb_run=None
    )
    prompts = [
        {
            "round": r.round,
            "ref": r.prompt_ref,
            **load_judge_prompt(r.prompt_ref).model_dump(
                include={"text", "criteria", "parent", "patterns"}
            ),
        }
        for r in result.rounds
        if r.prompt_ref
    ]
    last = result.rounds[-1]
    where = log.finish(
        curve=curve,
        report=report,
        prompts=prompts,
        summary={
            "run": result.run,
            "store": result.store,
            "final_prompt": final,
            "agreement": last.agreement,
            "agreement_true": last.agreement_true,
            "labels": last.labels,
        },
    )
    write_report(result, report, final_prompt=final_prompt, curve=curve, wandb_run=where)
    table = folder / "rounds.json"
    table.write_text(json.dumps(rounds_json(result, where), indent=2), encoding="utf-8")
    return AlignmentOutcome(result=result, curve=curve, report=report, table=table, wandb_run=where)


def rounds_json(result: RunResult, wandb_run: str) -> dict[str, Any]:
    """What `--json OUT` writes."""
    return {
        "run": result.run,
        "rounds": round_rows(result.rounds),
        "store": result.store,
        "wandb_run": wandb_run,
    }


def replay_config(
    client: WeaveClient,
    *,
    run: str | None,
    from_round: int,
    judge_model: str | None = None,
    analyzer_model: str | None = None,
    learner_model: str | None = None,
    raters: str | None = None,
    pool: PoolMode | None = None,
) -> tuple[LoopConfig, int]:
    """The config that re-runs learn, rewrite and evaluate of `run` (default: the latest run
    that asked for rankings) from `from_round` on its stored rankings; and its last round. A
    panel run is replayed whole, with other raters or pooling if asked."""
    source, config = _source_run(client, run)
    done = finished_rounds(client, source)
    if from_round not in done:
        rounds = ", ".join(str(n) for n in sorted(done)) or "none"
        raise LoopError(f"Run {source} has no finished round {from_round} (finished: {rounds}).")
    models = {
        field: value
        for field, value in (
            ("judge_model", judge_model),
            ("analyzer_model", analyzer_model),
            ("learner_model", learner_model),
        )
        if value
    }
    if config.is_panel:
        study = config.study
        assert study is not None
        config = config.model_copy(update={**models, "pool": pool or config.pool})
        if raters is not None:
            config, _ = panel_config(client, config, study=study, raters=raters, rounds=max(done))
        return config, max(done)
    if raters is not None or pool is not None:
        raise LoopError(
            f"Run {source} is one rater's; --raters and --pool replay a panel run "
            "(voicejudge rounds --raters ...)."
        )
    updates: dict[str, Any] = {
        "labels_from": config.labels_from or source,
        "prompts_from": source if config.labels_from else None,
        "start_round": from_round,
        **models,
    }
    return config.model_copy(update=updates), max(done)


def _source_run(client: WeaveClient, run: str | None) -> tuple[str, LoopConfig]:
    for call in step_calls(client, "round", newest_first=True):
        output = call.output if isinstance(call.output, dict) else None
        if output is None or (run is not None and output.get("run") != run):
            continue
        loop, _ = read_object_value(str(call.inputs["self"]))
        if not isinstance(loop, dict):
            raise LoopError(f"The loop of run {output['run']} cannot be read from this store.")
        config = LoopConfig.model_validate(plain_record(loop["config"]))
        if run is None and config.labels_from:
            continue
        return output["run"], config
    raise LoopError(
        f"No finished alignment run {run!r} in this store."
        if run
        else "No finished alignment run in this store: run `voicejudge rounds` first."
    )
