"""Labels the original voice-judge notebook wrote: its `AudioRanker` annotations and its
`BinaryVoiceRank` scorer results, read as rankings so its studies join the loop unchanged."""

from __future__ import annotations

from pydantic import ValidationError
from weave.trace.weave_client import WeaveClient

from voicejudge.labels.feedback import STORED, RankingFeedback
from voicejudge.tracking.gateway import StoredFeedback

NOTEBOOK_ANNOTATION_TYPE = "wandb.annotation.AudioRanker"
NOTEBOOK_SCORER_TYPE = "wandb.runnable.BinaryVoiceRank"


def notebook_ranking(client: WeaveClient, row: StoredFeedback) -> RankingFeedback | None:
    """The ranking one notebook label states, or None for a label this project cannot
    interpret (it is left out, not guessed)."""
    payload = row.payload
    rater = row.creator or row.wb_user_id or "unknown"
    try:
        if row.feedback_type == NOTEBOOK_ANNOTATION_TYPE:
            ranked = sorted(payload["value"]["ranked_samples"], key=lambda s: s["rank"])
            presented = sorted(ranked, key=lambda s: s.get("original_input_order", 0))
            value = {
                "ranking": [str(s["id"]) for s in ranked],
                "presented_order": [str(s["id"]) for s in presented],
                "rater": rater,
                "source": "import:notebook-annotation",
            }
        elif row.feedback_type == NOTEBOOK_SCORER_TYPE and row.call_id is not None:
            preferred = str(payload["output"]["preferred_sample_id"])
            others = [i for i in _input_sample_ids(client, row.call_id) if i != preferred]
            if len(others) != 1:
                return None
            value = {
                "ranking": [preferred, others[0]],
                "rater": rater,
                "source": "import:notebook-scorer",
            }
        else:
            return None
        return RankingFeedback.model_validate(value, context=STORED)
    except (KeyError, TypeError, ValidationError):
        return None


def _input_sample_ids(client: WeaveClient, call_id: str) -> list[str]:
    """The ids of the samples a notebook call was given (`voice_instructions_id` or `id`)."""
    call = client.get_call(call_id)
    ids = []
    for value in call.inputs.values():
        for key in ("voice_instructions_id", "id"):
            try:
                ids.append(str(value[key]))
                break
            except (KeyError, TypeError, IndexError):
                continue
    return ids
