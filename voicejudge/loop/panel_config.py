"""What a panel run is started from: the study's raters as `--raters` names them, and the takes
its import published."""

from __future__ import annotations

from weave.trace.weave_client import WeaveClient

from voicejudge.audio.sample_set import SampleSet, SampleSetError, load_sample_set
from voicejudge.evaluation.panel import natural_order
from voicejudge.evaluation.screening import latest_marks
from voicejudge.labels.imports import takes_name
from voicejudge.loop.panel_labels import CONSENSUS, split_panel, study_labels, within
from voicejudge.loop.state import LoopConfig, LoopError
from voicejudge.tracking.refs import latest_object_ref

ALL_RATERS = "all"


def panel_config(
    client: WeaveClient, base: LoopConfig, *, study: str, raters: str, rounds: int
) -> tuple[LoopConfig, SampleSet]:
    """`base` as a panel run on `study`'s labels by `raters`: `all` (everyone no screening
    rule marked), `consensus` (their majority) or names, comma-separated; its sample set is
    the takes the study's import published."""
    everyone = study_labels(client, study)
    known = everyone.raters
    if len(known) < 2:
        raise LoopError(
            f"Study {study!r} has labels by {len(known)} rater(s); a panel run needs two or "
            "more (bring a listening test in with voicejudge import, or rank with --set)."
        )
    if raters in (ALL_RATERS, CONSENSUS):
        screened = latest_marks(client, study)
        chosen = [r for r in known if r not in screened]
        if not chosen:
            raise LoopError(
                f"Screening marked every rater of study {study!r}; name the raters to align "
                "to with --raters NAME,..."
            )
    else:
        chosen = [name.strip() for name in raters.split(",") if name.strip()]
        unknown = [name for name in chosen if name not in known]
        if unknown or not chosen:
            raise LoopError(
                f"Study {study!r} has no rater {', '.join(unknown) or '(none named)'}; its raters "
                f"are {', '.join(sorted(known, key=natural_order))}."
            )
    labels = everyone.only(chosen)
    heldout = split_panel(labels, base.heldout, base.seed).heldout
    if not any(within(cs, heldout) for cs in labels.comparisons.values()):
        raise LoopError(
            f"The raters chosen have no judgements on the {len(heldout)} held-out takes of "
            f"study {study!r}: lower --heldout, or choose raters who judged more of it."
        )
    takes = latest_object_ref(client.project_id, takes_name(study)).uri()
    try:
        samples = load_sample_set(takes)
    except SampleSetError as exc:
        raise LoopError(
            f"Study {study!r} has no takes in this store ({exc}); import it with "
            "voicejudge import ... --set " + study
        ) from exc
    config = base.model_copy(
        update={
            "sample_set": takes,
            "study": study,
            "raters": sorted(set(chosen), key=natural_order),
            "consensus": raters == CONSENSUS,
            "rounds": rounds,
        }
    )
    return LoopConfig.model_validate(config.model_dump()), samples
