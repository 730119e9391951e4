"""The ranking app, launched for real and driven through gradio_client."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from gradio_client import Client

from tests.loopback import free_port
from voicejudge.app.desk import RankingDesk
from voicejudge.app.ranking_page import launch
from voicejudge.audio.sample_set import SampleSet, load_sample_set
from voicejudge.labels.ranking import comparison_request, rank_audio

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def voices() -> SampleSet:
    full = load_sample_set(ROOT / "assets" / "voices")
    return SampleSet(name="voices", samples=full.samples[:12])


@pytest.fixture
def app(client, voices):
    desk = RankingDesk(voices, client=client)
    running = launch(desk, port=free_port(), brief="A man in his late 50s.")
    yield running.url
    running.close()


def _read_back(store: Path, project: str) -> list[dict]:
    script = (
        "import json, sys\n"
        "from tests import netguard; netguard.install()\n"
        "from weave.trace.weave_client import WeaveClient\n"
        "from weave.trace.context.weave_client_context import set_weave_client_global\n"
        "from voicejudge import LocalTraceServer\n"
        "from voicejudge.labels.ranking import read_rankings\n"
        "client = WeaveClient('local', sys.argv[2], LocalTraceServer(sys.argv[1]),"
        " ensure_project_exists=False)\n"
        "set_weave_client_global(client)\n"
        "print(json.dumps([{'call_id': r.call_id, **r.feedback.model_dump(mode='json')}"
        " for r in read_rankings(client)]))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script, str(store), project],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return json.loads(result.stdout)


def test_pairwise_and_three_way_rankings_reach_the_store(app, client, voices) -> None:
    _, pending = rank_audio.call(
        [voices.get("voice-001"), voices.get("voice-002"), voices.get("voice-003")], round=1, seed=4
    )
    client.flush()
    ranker = Client(app, verbose=False)

    three = ranker.predict("ann", api_name="/next_comparison")
    assert three["call_id"] == pending.id, "open comparisons of the set come first"
    assert three["labels"] == ["A", "B", "C"]
    assert three["belongs_to"] == "no run or study (an open comparison)"
    by_label = comparison_request(client, pending.id).labels
    audio = ranker.predict(pending.id, "C", api_name="/take")
    heard, rate = sf.read(audio)
    expected = voices.get(by_label["C"]).clip()
    assert rate == expected.sample_rate and np.allclose(heard, expected.samples, atol=1e-4)
    ranker.predict(
        "ann",
        three["call_id"],
        ["C", "A", "B"],
        False,
        "",
        ["A", "C"],
        9.5,
        api_name="/submit_ranking",
    )

    pair = ranker.predict("ann", api_name="/next_comparison")
    assert pair["labels"] == ["A", "B"] and pair["call_id"] != pending.id
    pair_ids = comparison_request(client, pair["call_id"]).labels
    for _ in range(2):  # the same answer submitted twice
        ranker.predict(
            "ann",
            pair["call_id"],
            ["B", "A"],
            False,
            "B is rougher",
            ["A", "B"],
            4.0,
            api_name="/submit_ranking",
        )

    stored = {row["call_id"]: row for row in _read_back(client.server.path, client.project)}
    assert len(stored) == 2, "the double submit left one answer"
    assert stored[pending.id]["ranking"] == [by_label["C"], by_label["A"], by_label["B"]]
    assert stored[pending.id]["played"] == [by_label["A"], by_label["C"]]
    assert stored[pending.id]["elapsed_s"] == 9.5
    assert stored[pair["call_id"]]["ranking"] == [pair_ids["B"], pair_ids["A"]]
    assert stored[pair["call_id"]]["note"] == "B is rougher"
    assert {row["rater"] for row in stored.values()} == {"ann"}
    assert len(client.get_call(pair["call_id"]).feedback) == 1


def test_bad_submissions_come_back_as_errors(app) -> None:
    ranker = Client(app, verbose=False)
    with pytest.raises(Exception, match="rater"):
        ranker.predict("  ", api_name="/next_comparison")
    comparison = ranker.predict("ann", api_name="/next_comparison")
    with pytest.raises(Exception, match="Unknown label"):
        ranker.predict(
            "ann",
            comparison["call_id"],
            ["A", "Z"],
            False,
            "",
            [],
            None,
            api_name="/submit_ranking",
        )


@pytest.mark.parametrize(
    ("rater", "note", "elapsed", "needle"),
    [
        ("ann", "x" * 10_000_000, 1.0, "at most 2000 characters"),
        ("a" * 10_000 + "\n\x00", "", 1.0, "rater name"),
        ("ann", "", -5.0, "between 0 and 86400"),
        ("ann", "", 1e308, "between 0 and 86400"),
        ("ann", "\x1b[2J", 1.0, "control characters"),
    ],
    ids=["huge-note", "long-name", "negative-time", "huge-time", "escape-in-note"],
)
def test_unbounded_answers_are_refused(app, client, rater, note, elapsed, needle) -> None:
    ranker = Client(app, verbose=False)
    comparison = ranker.predict("ann", api_name="/next_comparison")
    with pytest.raises(Exception, match=needle):
        ranker.predict(
            rater,
            comparison["call_id"],
            ["A", "B"],
            False,
            note,
            [],
            elapsed,
            api_name="/submit_ranking",
        )
    client.flush()
    assert len(client.get_call(comparison["call_id"]).feedback) == 0, "nothing was stored"


def test_four_raters_at_once_lose_nothing(app, client) -> None:
    errors: list[BaseException] = []

    def rate(rater: str) -> None:
        try:
            ranker = Client(app, verbose=False)
            for _ in range(25):
                comparison = ranker.predict(rater, api_name="/next_comparison")
                ranker.predict(
                    rater,
                    comparison["call_id"],
                    ["B", "A"],
                    False,
                    rater,
                    [],
                    None,
                    api_name="/submit_ranking",
                )
        except BaseException as exc:  # reported below with the rater's name
            errors.append(exc)

    threads = [threading.Thread(target=rate, args=(f"rater-{i}",)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    assert not errors, errors
    stored = _read_back(client.server.path, client.project)
    assert len(stored) == 100
    for row in stored:
        assert row["note"] == row["rater"], "no answer crossed to another rater"
    per_rater = {}
    for row in stored:
        per_rater.setdefault(row["rater"], set()).add(row["call_id"])
    assert {r: len(calls) for r, calls in per_rater.items()} == {f"rater-{i}": 25 for i in range(4)}


def test_exposing_the_app_needs_a_password() -> None:
    voicejudge = str(Path(sys.executable).parent / "voicejudge")
    cases = [
        (["--host", "0.0.0.0"], "without logins"),
        (["--share"], "public share link"),
        (["--host", "0.0.0.0", "--auth", "nopassword"], "USER:PASSWORD"),
        (["--port", "70000"], "--port must be between 1 and 65535"),
        (["--auth", "ann:pw", "--rater", "bob"], "--rater cannot be used with logins"),
        (["--run", "nope"], "No run 'nope' has asked comparisons in this store (runs: none yet)"),
    ]
    for extra, needle in cases:
        result = subprocess.run(
            [voicejudge, "rank", "--set", str(ROOT / "assets" / "voices"), *extra],
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert result.returncode == 1 and "Traceback" not in result.stderr
        assert needle in " ".join(result.stderr.split()), result.stderr
    launcher = subprocess.run(
        [
            sys.executable,
            str(ROOT / "apps" / "ranker.py"),
            "--set",
            str(ROOT / "assets" / "voices"),
            "--share",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert launcher.returncode == 1 and "public share link" in " ".join(launcher.stderr.split())
