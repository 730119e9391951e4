"""A W&B run for each alignment command: round metrics, the judge's decisions against the
labels, the alignment curve and the prompt versions.

Offline (the default) the run is written under `$VOICEJUDGE_HOME/wandb` for a later `wandb
sync`; beside hosted traces (a W&B key) it goes online to the traces' project. While it is open,
every traced call records the run's id, so Weave and the run link to each other.
"""

from __future__ import annotations

import contextlib
import json
import os
from pathlib import Path
from typing import Any

from weave.trace.weave_client import WeaveClient

from voicejudge.loop.report import round_rows
from voicejudge.loop.results import RoundResult
from voicejudge.settings import OFFLINE_DEFAULTS, environment, load_settings

DECISION_COLUMNS = [
    "round",
    "first",
    "second",
    "label",
    "true_choice",
    "judge_winner",
    "agreement",
    "position_consistency",
]


class RunLog:
    """One W&B run; `round` after each round, `finish` once at the end."""

    def __init__(self, run: Any, folder: Path, scope: contextlib.ExitStack) -> None:
        self.run = run
        self.folder = folder
        self._decisions: list[list[Any]] = []
        self._environment = scope  # wandb's variables, put back when the run closes

    @classmethod
    def start(
        cls, name: str, job_type: str, config: dict[str, Any], client: WeaveClient, online: bool
    ) -> RunLog:
        """Open the run: online beside hosted traces, offline otherwise. wandb's variables are
        set for the run's life only, then put back as they were."""
        folder = load_settings().home / "wandb"
        folder.mkdir(parents=True, exist_ok=True)
        scope = contextlib.ExitStack()
        if not online and os.environ.get("WANDB_MODE") not in ("offline", "disabled", "dryrun"):
            scope.enter_context(environment({"WANDB_MODE": "offline"}, override=True))
        scope.enter_context(
            environment(
                {
                    **OFFLINE_DEFAULTS,
                    "WANDB_DIR": str(folder),
                    "WANDB_CACHE_DIR": str(folder / "cache"),
                    "WANDB_DATA_DIR": str(folder / "data"),
                    "WANDB_ARTIFACT_DIR": str(folder / "artifacts"),
                }
            )
        )
        try:
            run = cls._init(name, job_type, config, client, online, folder)
        except BaseException:
            scope.close()
            raise
        return cls(run, folder, scope)

    @staticmethod
    def _init(
        name: str,
        job_type: str,
        config: dict[str, Any],
        client: WeaveClient,
        online: bool,
        folder: Path,
    ) -> Any:
        import wandb

        return wandb.init(
            project=client.project,
            entity=client.entity if online else None,
            name=name,
            job_type=job_type,
            config=config,
            dir=str(folder),
            reinit="finish_previous",
            settings=wandb.Settings(
                silent=True, save_code=False, disable_git=True, x_disable_stats=True
            ),
        )

    def round(self, result: RoundResult) -> None:
        """Log a round's metrics, at the step of its number."""
        (row,) = round_rows([result])
        metrics = {
            key: value
            for key, value in row.items()
            if key not in ("round", "prompt_ref", "ci95", "by_rater") and value is not None
        }
        metrics.update({f"agreement/{rater}": value for rater, value in result.by_rater.items()})
        metrics["ci95_low"], metrics["ci95_high"] = row["ci95"]
        self.run.log(metrics, step=result.round)
        self._decisions += [
            [
                result.round,
                d.first,
                d.second,
                d.label,
                d.true_choice,
                d.winner,
                d.agreement,
                d.position_consistency,
            ]
            for d in result.decisions
        ]

    def finish(
        self,
        *,
        curve: Path | None,
        report: Path | None,
        prompts: list[dict[str, Any]],
        summary: dict[str, Any],
    ) -> str:
        """Log the decisions table, the curve, the prompt versions; close; where the run is."""
        import wandb

        self.run.log(
            {
                "decisions": wandb.Table(
                    columns=list[str | int](DECISION_COLUMNS), data=self._decisions
                )
            }
        )
        if curve is not None and curve.exists():
            self.run.log({"alignment_curve": wandb.Image(str(curve))})
        if prompts:
            folder = Path(self.run.dir) / "prompt-versions"
            folder.mkdir(parents=True, exist_ok=True)
            artifact = wandb.Artifact(f"judge-prompts-{self.run.id}", type="judge-prompt")
            for prompt in prompts:
                path = folder / f"round-{prompt['round']:02d}.json"
                path.write_text(json.dumps(prompt, indent=2), encoding="utf-8")
                artifact.add_file(str(path))
            if report is not None and report.exists():
                artifact.add_file(str(report), name="report.md")
            self.run.log_artifact(artifact)
        for key, value in summary.items():
            self.run.summary[key] = value
        where = self.location()
        try:
            self.run.finish()
        finally:
            self._environment.close()
        return where

    def location(self) -> str:
        """The run's URL when online, else its local folder."""
        if self.run.settings.mode == "offline" or not getattr(self.run, "url", None):
            return str(Path(self.run.dir).parent.resolve())
        return str(self.run.url)

    def abandon(self) -> None:
        """Close the run after a failure, marked as failed."""
        try:
            self.run.finish(exit_code=1)
        finally:
            self._environment.close()
