"""After `make demo`, a person opens the ranking app on the same voices: the demo's comparisons
(its held-out set too) are not theirs, and their answers land only on their own calls."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from gradio_client import Client

from tests.loopback import free_port
from voicejudge import Settings, close_tracking, init_tracking
from voicejudge.app.desk import RankingDesk
from voicejudge.app.ranking_page import launch
from voicejudge.audio.sample_set import BUNDLED_VOICES, load_sample_set
from voicejudge.labels.feedback import RankingError
from voicejudge.labels.ranking import (
    check_person_run,
    comparison_request,
    comparison_runs,
    read_rankings,
)
from voicejudge.tracking.gateway import op_calls

pytestmark = pytest.mark.slow

VOICEJUDGE = str(Path(sys.executable).parent / "voicejudge")
ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def after_the_demo(isolated_home: Path) -> Iterator[Any]:
    """The store `make demo`'s job leaves (one short round, so the test stays quick)."""
    result = subprocess.run(
        [VOICEJUDGE, "demo", "--rounds", "1", "--pairs-per-round", "2"],
        capture_output=True,
        text=True,
        env={**os.environ, "VOICEJUDGE_HOME": str(isolated_home)},
        timeout=300,
        cwd=ROOT,
    )
    assert result.returncode == 0, result.stderr
    yield init_tracking(backend="local", settings=Settings(home=isolated_home))
    close_tracking()


def _answers(client: Any) -> dict[str, list[tuple[str, str]]]:
    """Every ranking stored on each call, replaced ones too: (rater, source)."""
    found: dict[str, list[tuple[str, str]]] = {}
    for recorded in read_rankings(client, include_replaced=True):
        found.setdefault(recorded.call_id, []).append(
            (recorded.feedback.rater, recorded.feedback.source)
        )
    return found


def test_a_person_after_the_demo_gets_and_answers_only_their_own_comparisons(
    after_the_demo: Any,
) -> None:
    client = after_the_demo
    (demo_run,) = comparison_runs(client)
    demo_calls = {
        call.id: comparison_request(client, call.id) for call in op_calls(client, "rank_audio")
    }
    heldout = [call_id for call_id, asked in demo_calls.items() if asked.heldout]
    assert heldout and {(asked.run, asked.asked_of) for asked in demo_calls.values()} == {
        (demo_run, "simulated:bright")
    }
    simulated = [("bright", "simulated:bright")]
    with pytest.raises(RankingError, match="answered by a simulated rater"):
        check_person_run(client, demo_run)  # what `voicejudge rank --run <demo run>` refuses
    before = _answers(client)
    assert {call_id: before[call_id] for call_id in demo_calls} == dict.fromkeys(
        demo_calls, simulated
    )

    voices = load_sample_set(BUNDLED_VOICES)
    app = launch(RankingDesk(voices, client=client), port=free_port())
    served = []
    try:
        ranker = Client(app.url, verbose=False)
        for _ in range(3):
            comparison = ranker.predict("ann", api_name="/next_comparison")
            assert comparison["call_id"] not in demo_calls, "no comparison of the demo is served"
            assert comparison["run"] is None
            assert comparison["belongs_to"] == f"study {voices.name} (asked of ann)"
            ranker.predict(
                "ann",
                comparison["call_id"],
                ["B", "A"],
                False,
                "",
                ["A", "B"],
                3.0,
                api_name="/submit_ranking",
            )
            served.append(comparison["call_id"])
        with pytest.raises(Exception, match=f"belongs to run {demo_run} \\(held-out evaluation\\)"):
            ranker.predict(
                "ann",
                heldout[0],
                ["A", "B"],
                False,
                "",
                ["A", "B"],
                3.0,
                api_name="/submit_ranking",
            )
    finally:
        app.close()

    opened_on_the_demo = RankingDesk(voices, client=client, run=demo_run)
    assert opened_on_the_demo.next_assignment("ann") is None, "the demo's calls are all answered"
    with pytest.raises(RankingError, match="only simulated:bright's answer, not one from ann"):
        opened_on_the_demo.submit("ann", heldout[0], ["A", "B"])

    after = _answers(client)
    assert {call_id: after[call_id] for call_id in demo_calls} == dict.fromkeys(
        demo_calls, simulated
    ), "each demo comparison still has exactly its one simulated answer"
    theirs = {call_id for call_id, answers in after.items() if ("ann", "human") in answers}
    assert theirs == set(served)
    assert {comparison_request(client, call_id).asked_of for call_id in theirs} == {"ann"}
