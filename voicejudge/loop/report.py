"""What a run leaves for people to read: the round table, the alignment curve (PNG) and a short
Markdown report."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, NamedTuple

from voicejudge.errors import VoiceJudgeError
from voicejudge.learning.brief import stated_criteria
from voicejudge.learning.patterns import PreferencePatterns
from voicejudge.learning.rubric import Criterion
from voicejudge.loop.results import RoundResult, RunResult
from voicejudge.prompting.judge_prompt import JudgePrompt
from voicejudge.tracking.gateway import plain_record


class ReportError(VoiceJudgeError):
    """What a report needs cannot be read from the store."""


# A pattern the report names: at least 4 to 1 that the taste has this effect with this sign.
NAMED_CONFIDENCE = 0.8


class RoundColumn(NamedTuple):
    """A column of the round table, as the terminal and the Markdown report both show it."""

    heading: str
    cell: Callable[[RoundResult], str]
    applies: Callable[[Sequence[RoundResult]], bool] = lambda rounds: True


def _number(value: float | None) -> str:
    return "–" if value is None else f"{value:.3f}"


ROUND_COLUMNS = (
    RoundColumn("round", lambda r: str(r.round)),
    RoundColumn("labels", lambda r: str(r.labels)),
    RoundColumn("agreement", lambda r: f"{r.agreement:.3f}"),
    RoundColumn("95% CI", lambda r: f"{r.ci95[0]:.2f}–{r.ci95[1]:.2f}"),
    RoundColumn(
        "noise-free agreement",
        lambda r: _number(r.agreement_true),
        lambda rounds: any(r.agreement_true is not None for r in rounds),
    ),
    RoundColumn(
        "with the others' consensus",
        lambda r: _number(r.consensus_agreement),
        lambda rounds: any(r.consensus_agreement is not None for r in rounds),
    ),
    RoundColumn(
        "human ceiling",
        lambda r: _number(r.human_ceiling),
        lambda rounds: any(r.human_ceiling is not None for r in rounds),
    ),
    RoundColumn("kappa", lambda r: f"{r.kappa:.3f}"),
    RoundColumn("position consistency", lambda r: f"{r.position_consistency:.3f}"),
    RoundColumn(
        "Kendall tau",
        lambda r: _number(r.kendall_tau),
        lambda rounds: any(r.kendall_tau is not None for r in rounds),
    ),
)


def round_columns(rounds: Sequence[RoundResult]) -> list[RoundColumn]:
    """The columns that say something about these rounds (no noise-free column for a person)."""
    return [column for column in ROUND_COLUMNS if column.applies(rounds)]


def round_rows(rounds: Sequence[RoundResult]) -> list[dict[str, Any]]:
    """The round table as `--json` writes it; the W&B run logs the same fields."""
    return [
        {
            "round": r.round,
            "labels": r.labels,
            "agreement": r.agreement,
            "agreement_true": r.agreement_true,
            "kappa": r.kappa,
            "ci95": list(r.ci95),
            "position_consistency": r.position_consistency,
            "kendall_tau": r.kendall_tau,
            "undecided": r.undecided,
            "prompt_ref": r.prompt_ref,
            "consensus_agreement": r.consensus_agreement,
            "human_ceiling": r.human_ceiling,
            "by_rater": r.by_rater or None,
            "prior_precision": r.prior_precision,
        }
        for r in rounds
    ]


def plot_curve(result: RunResult, path: Path, title: str | None = None) -> Path:
    """Agreement against the number of labels, with its 95 % interval."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rounds = result.rounds
    labels = [r.labels for r in rounds]
    figure, axes = plt.subplots(figsize=(6.4, 4.0), dpi=120)
    axes.fill_between(
        labels, [r.ci95[0] for r in rounds], [r.ci95[1] for r in rounds], alpha=0.2, label="95 % CI"
    )
    axes.plot(labels, [r.agreement for r in rounds], "o-", label="with the rater's labels")
    if all(r.agreement_true is not None for r in rounds):
        truth = [r.agreement_true or 0.0 for r in rounds]  # all set, as checked above
        axes.plot(labels, truth, "s--", label="with the noise-free choice")
    axes.axhline(0.5, color="grey", linewidth=0.8, linestyle=":", label="chance (0.5)")
    if result.ceiling is not None:
        axes.axhline(
            result.ceiling,
            color="black",
            linewidth=0.9,
            linestyle="--",
            label=f"rater's ceiling ({result.ceiling:.2f})",
        )
    if any(r.consensus_agreement is not None for r in rounds):
        axes.plot(
            labels,
            [math.nan if r.consensus_agreement is None else r.consensus_agreement for r in rounds],
            "d-.",
            label="with the others' consensus",
        )
        ceiling = rounds[-1].human_ceiling
        if ceiling is not None:
            axes.axhline(
                ceiling,
                color="black",
                linewidth=0.9,
                linestyle="--",
                label=f"human ceiling ({ceiling:.2f})",
            )
    axes.set_xlabel("training labels (0: the brief's prompt)")
    axes.set_ylabel("held-out pairwise agreement")
    axes.set_ylim(0, 1)
    axes.set_title(title or f"Judge alignment, run {result.run}")
    axes.legend(loc="lower right")
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path)
    plt.close(figure)
    return path


def write_report(
    result: RunResult,
    path: Path,
    *,
    final_prompt: JudgePrompt | None,
    curve: Path | None,
    wandb_run: str | None,
) -> Path:
    """A short Markdown report: the table, the final prompt and where everything is."""
    columns = round_columns(result.rounds)
    lines = [
        f"# Alignment run `{result.run}`",
        "",
        f"Rater: **{result.rater}**. Held-out agreement after each round:",
        "",
        "| " + " | ".join(c.heading for c in columns) + " |",
        "|" + "|".join("---:" for _ in columns) + "|",
    ]
    lines += ["| " + " | ".join(c.cell(r) for c in columns) + " |" for r in result.rounds]
    if result.ceiling is not None:
        lines += ["", f"The rater's ceiling (1 − flip rate) is {result.ceiling:.2f}."]
    lines += _panel_lines(result.rounds[-1] if result.rounds else None)
    if final_prompt is not None:
        lines += ["", learned_beyond_brief(final_prompt, patterns_of(final_prompt))]
    if curve is not None:
        lines += ["", f"![alignment curve]({curve.name})"]
    if final_prompt is not None:
        lines += ["", "## Final judge prompt", "", "```text", final_prompt.text, "```", ""]
        lines += ["Criteria the offline judge scores with:", ""]
        lines += [f"- {c.describe()}" for c in final_prompt.criteria]
    last = result.rounds[-1] if result.rounds else None
    lines += ["", "## Where things are", ""]
    lines.append(f"- trace store: `{result.store}`")
    if last is not None and last.prompt_ref:
        lines.append(f"- final prompt: `{last.prompt_ref}`")
        lines.append(f"- lineage: `voicejudge lineage {last.prompt_ref}`")
    if wandb_run:
        lines.append(f"- W&B run: `{wandb_run}`")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _panel_lines(last: RoundResult | None) -> list[str]:
    """A panel run's last round: the human ceiling beside the judge, and each rater."""
    if last is None or last.human_ceiling is None:
        return []
    lines = [
        "",
        f"Human ceiling: on the held-out pairs a rater sides with the others' majority "
        f"{last.human_ceiling:.3f} of the time; the judge standing in for them does "
        f"{_number(last.consensus_agreement)}.",
    ]
    if last.prior_precision is not None:
        lines.append(
            f"Each rater's judge held to the group's rubric with prior precision "
            f"{last.prior_precision:g} (chosen by cross-validation on the training units)."
        )
    if last.by_rater:
        lines += ["", "| rater | agreement |", "|---|---:|"]
        lines += [f"| {rater} | {value:.3f} |" for rater, value in last.by_rater.items()]
    return lines


def patterns_of(prompt: JudgePrompt) -> PreferencePatterns | None:
    """The stored patterns a prompt version was rewritten from (None for a starting prompt)."""
    if not prompt.patterns:
        return None
    from voicejudge.tracking import read_object_value

    try:
        value, _ = read_object_value(prompt.patterns)
        return PreferencePatterns.model_validate(plain_record(value))
    except Exception as exc:  # a missing ref, or another kind of object behind it
        raise ReportError(
            f"{prompt.patterns}: cannot read the patterns this prompt was rewritten from ({exc})."
        ) from None


def learned_beyond_brief(prompt: JudgePrompt, patterns: PreferencePatterns | None = None) -> str:
    """One sentence: what the rankings taught that the prompt's brief did not say. With the
    patterns the prompt was rewritten from, only the likely ones are named, with their odds."""
    stated = {(c.feature, c.kind) for c in stated_criteria(prompt.brief or "")}
    stated_features = {feature for feature, _ in stated}
    if patterns is None:
        learned: list[tuple[Criterion, float | None]] = [(c, None) for c in prompt.criteria]
        weaker = 0
    else:
        likely = [
            p for p in patterns.strong + patterns.emerging if p.confidence >= NAMED_CONFIDENCE
        ]
        learned = [(c, p.confidence) for p in likely if (c := p.as_criterion()) is not None]
        weaker = len(patterns.strong) + len(patterns.emerging) - len(likely)
    parts = []
    for criterion, confidence in learned:
        if (criterion.feature, criterion.kind) in stated:
            continue
        notes = ["the brief said otherwise"] if criterion.feature in stated_features else []
        if confidence is not None:
            notes.append(f"{confidence:.0%} sure")
        parts.append(
            criterion.preference(labelled=True) + (f" ({', '.join(notes)})" if notes else "")
        )
    if not parts:
        sentence = "Learned beyond the brief: nothing likely yet"
        return sentence + (f" ({weaker} weaker leanings)." if weaker else ".")
    tail = f"; and {weaker} weaker leanings, used as tie-breakers" if weaker else ""
    return "Learned beyond the brief: " + "; ".join(parts) + tail + "."
