"""The ranking app as an outsider probes it: only the page's takes and picture are served,
nothing names a take before its answer is stored, and with logins a rater is who they signed
in as."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from gradio_client import Client
from PIL import Image

from tests.loopback import free_port
from voicejudge.app.desk import RankingDesk
from voicejudge.app.logins import LoginCheck, read_logins
from voicejudge.app.ranking_page import launch
from voicejudge.audio.sample_set import SampleSet, load_sample_set
from voicejudge.labels.ranking import comparison_request, read_rankings

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
VOICEJUDGE = str(Path(sys.executable).parent / "voicejudge")
TAKES = [f"voice-{n:03d}" for n in range(1, 7)]


@pytest.fixture
def home_folder(tmp_path: Path) -> Path:
    """A folder like a user's home: secrets, a trace store, a sample set and a picture."""
    home = tmp_path / "user"
    (home / ".ssh").mkdir(parents=True)
    (home / ".netrc").write_text("machine api.wandb.ai login user password secret-netrc\n")
    (home / ".ssh" / "id_rsa").write_text("-----BEGIN OPENSSH PRIVATE KEY-----\nsecret\n")
    voices = home / "voices"
    voices.mkdir()
    rows = ["file,id,instructions"]
    for take in TAKES:
        shutil.copy(ROOT / "assets" / "voices" / f"{take}.flac", voices / f"{take}.flac")
        rows.append(f"{take}.flac,{take},deliver {take} slowly")
    (voices / "manifest.csv").write_text("\n".join(rows) + "\n")
    Image.new("RGB", (64, 48), (120, 60, 30)).save(home / "wild-man.png")
    return home


@pytest.fixture
def served(home_folder: Path) -> Iterator[str]:
    """`voicejudge rank` started from that folder, with its picture; yields the URL."""
    port = free_port()
    env = {**os.environ, "VOICEJUDGE_HOME": str(home_folder / ".voicejudge")}
    process = subprocess.Popen(
        [VOICEJUDGE, "rank", "--set", "voices", "--image", "wild-man.png", "--port", str(port)],
        cwd=home_folder,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            assert process.poll() is None, process.communicate()
            try:
                if httpx.get(url, timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.3)
        yield url
    finally:
        process.terminate()
        process.communicate(timeout=60)


def _names_a_take(text: str) -> list[str]:
    return [take for take in TAKES if take in text]


def _result(reply: str) -> dict:
    return json.loads(reply.split("data:", 1)[1].strip().splitlines()[0])[0]


def _raw_call(url: str, endpoint: str, data: list) -> str:
    """The whole server-sent reply of one named endpoint, as text."""
    with httpx.Client(base_url=url, timeout=60) as http:
        event = http.post(f"/gradio_api/call/{endpoint}", json={"data": data}).json()["event_id"]
        return http.get(f"/gradio_api/call/{endpoint}/{event}").text


def test_only_the_pages_takes_and_picture_are_served(served: str, home_folder: Path) -> None:
    comparison = _result(_raw_call(served, "next_comparison", ["ann"]))
    played = [
        _result(_raw_call(served, "take", [comparison["call_id"], label]))["url"]
        for label in comparison["labels"]
    ]
    assert len(played) == 2
    for take_url in played:
        response = httpx.get(take_url)
        assert response.status_code == 200 and response.content[:4] == b"RIFF"
    config = httpx.get(f"{served}/config").text
    urls = re.findall(r'"url":\s*"([^"]+)"', config)
    (picture,) = {u for u in urls if "/gradio_api/file=" in u and u.endswith(".png")}
    assert httpx.get(picture).status_code == 200

    store = home_folder / ".voicejudge"
    secrets = [
        home_folder / ".netrc",
        home_folder / ".ssh" / "id_rsa",
        home_folder / "voices" / "manifest.csv",
        home_folder / "voices" / "voice-001.flac",
        home_folder / "wild-man.png",
        store / "traces.db",
        store / "traces.db-wal",
        Path("/etc/passwd"),
    ]
    requests = [f"{served}/gradio_api/file={path}" for path in secrets]
    requests += [f"{served}/gradio_api/file={name}" for name in (".netrc", ".ssh/id_rsa")]
    requests += [f"{served}/file={home_folder / '.netrc'}"]
    for request in requests:
        assert httpx.get(request).status_code in (403, 404), request


def _page_load(url: str, rater: str) -> str:
    """What a browser receives when the page loads: its load event, through Gradio's queue."""
    config = httpx.get(f"{url}/config").json()
    (load,) = [d["id"] for d in config["dependencies"] if [0, "load"] in d["targets"]]
    with httpx.Client(base_url=url, timeout=60) as http:
        http.post(
            "/gradio_api/queue/join",
            json={"data": [rater], "fn_index": load, "session_hash": "probe", "trigger_id": None},
        ).raise_for_status()
        received = []
        with http.stream("GET", "/gradio_api/queue/data", params={"session_hash": "probe"}) as s:
            for line in s.iter_lines():
                received.append(line)
                if "process_completed" in line:
                    break
    return "\n".join(received)


def test_no_page_reply_or_url_names_a_take_before_its_answer(served: str) -> None:
    texts = [httpx.get(f"{served}{path}").text for path in ("/", "/config", "/gradio_api/info")]
    loaded = _page_load(served, "ann")
    assert "/gradio_api/file=" in loaded and "Take A" in loaded, "the page got its takes"
    reply = _raw_call(served, "next_comparison", ["ann"])
    comparison = _result(reply)
    audio = [_raw_call(served, "take", [comparison["call_id"], x]) for x in comparison["labels"]]
    texts += [loaded, reply, *audio]
    for text in texts:
        assert _names_a_take(text) == []
    assert "deliver" not in reply, "intended deliveries are hidden in a blind test"

    answer = _raw_call(
        served, "submit_ranking", ["ann", comparison["call_id"], ["B", "A"], False, "", [], None]
    )
    assert "event: complete" in answer


def _signed_in_app(client, voices: SampleSet) -> Iterator[str]:
    desk = RankingDesk(voices, client=client)
    running = launch(
        desk,
        port=free_port(),
        logins=read_logins(file=None, environ={"VOICEJUDGE_AUTH": "ann:pw-ann\nbob:pw-bob"}),
    )
    try:
        yield running.url
    finally:
        running.close()


@pytest.fixture
def signed_in(client) -> Iterator[str]:
    voices = load_sample_set(ROOT / "assets" / "voices")
    yield from _signed_in_app(client, SampleSet(name="voices", samples=voices.samples[:6]))


def test_a_signed_in_rater_cannot_answer_as_another(signed_in: str, client) -> None:
    ann = Client(signed_in, auth=("ann", "pw-ann"), verbose=False)
    bob = Client(signed_in, auth=("bob", "pw-bob"), verbose=False)
    comparison = bob.predict("", api_name="/next_comparison")
    call_id = comparison["call_id"]
    bobs = bob.predict("", call_id, ["A", "B"], False, "", [], None, api_name="/submit_ranking")

    with pytest.raises(Exception, match="signed in as ann"):
        ann.predict("bob", call_id, ["B", "A"], False, "", [], None, api_name="/submit_ranking")
    with pytest.raises(Exception, match="signed in as ann"):
        ann.predict("bob", api_name="/next_comparison")
    with pytest.raises(Exception, match="takes only bob's answer"):
        ann.predict("", call_id, ["B", "A"], False, "", [], None, api_name="/submit_ranking")

    client.flush()
    current = {r.feedback.rater: r for r in read_rankings(client)}
    assert set(current) == {"bob"}
    assert current["bob"].feedback_id == bobs, "bob's answer is untouched"
    labels = comparison_request(client, call_id).labels
    assert current["bob"].feedback.ranking == [labels["A"], labels["B"]]


def test_a_replaced_answer_stays_readable(signed_in: str, client) -> None:
    ann = Client(signed_in, auth=("ann", "pw-ann"), verbose=False)
    comparison = ann.predict("", api_name="/next_comparison")
    call_id = comparison["call_id"]
    first = ann.predict("", call_id, ["A", "B"], False, "", [], None, api_name="/submit_ranking")
    second = ann.predict("", call_id, ["B", "A"], False, "", [], None, api_name="/submit_ranking")
    client.flush()
    (current,) = read_rankings(client)
    assert current.feedback_id == second and current.feedback.replaces == first
    history = {r.feedback_id for r in read_rankings(client, include_replaced=True)}
    assert history == {first, second}


def test_uploads_are_refused(signed_in: str) -> None:
    with httpx.Client(base_url=signed_in.rstrip("/")) as http:
        assert http.post("/login", data={"username": "ann", "password": "pw-ann"}).is_success
        page = http.post(
            "/gradio_api/upload", files={"files": ("x.html", b"<script>alert(1)</script>")}
        )
    assert page.status_code == 413, page.text


def test_a_take_has_no_name_outside_its_own_app(client) -> None:
    voices = load_sample_set(ROOT / "assets" / "voices")
    pair = SampleSet(name="pair", samples=voices.samples[:2])
    names = []
    for _ in range(2):
        running = launch(RankingDesk(pair, client=client), port=free_port())
        try:
            ranker = Client(running.url, verbose=False)
            comparison = ranker.predict("ann", api_name="/next_comparison")
            label = comparison["labels"][0]
            names.append(Path(ranker.predict(comparison["call_id"], label, api_name="/take")).name)
        finally:
            running.close()
    assert names[0] != names[1], "another app serves the same take under another name"


def test_wrong_passwords_lock_the_login(signed_in: str) -> None:
    with httpx.Client(base_url=signed_in) as http:
        for _ in range(5):
            wrong = http.post("/login", data={"username": "ann", "password": "guess"})
            assert wrong.status_code == 400
        right = http.post("/login", data={"username": "ann", "password": "pw-ann"})
        assert right.status_code == 400, "locked after five wrong passwords"
        other = http.post("/login", data={"username": "bob", "password": "pw-bob"})
        assert other.status_code == 200, "another login is not locked"


def test_lockout_ends_and_grows_and_a_password_spray_is_slowed() -> None:
    now = [0.0]
    check = LoginCheck({"ann": "pw"}, max_failures=3, lockout_s=10, clock=lambda: now[0])
    for _ in range(3):
        assert not check("ann", "x")
    assert not check("ann", "pw")
    now[0] = 10.5
    assert check("ann", "pw")
    for _ in range(3):
        assert not check("ann", "x")
    now[0] = 25.0
    assert not check("ann", "pw"), "the second lockout lasts twice as long"
    now[0] = 31.0
    assert check("ann", "pw")

    spray = LoginCheck({"ann": "pw"}, max_failures=100, max_failures_per_minute=5, clock=lambda: 0)
    for name in ("a", "b", "c", "d", "e"):
        assert not spray(name, "x")
    assert not spray("ann", "pw"), "too many wrong passwords this minute"


def test_logins_come_from_a_file_or_the_environment(tmp_path: Path) -> None:
    file = tmp_path / "logins"
    file.write_text("# panel\nann:pw:with:colons\n\nbob:other\n")
    assert read_logins(file=file, environ={}) == {"ann": "pw:with:colons", "bob": "other"}
    from voicejudge.errors import ConfigError

    with pytest.raises(ConfigError, match="line 1"):
        read_logins(file=None, environ={"VOICEJUDGE_AUTH": "no-password"})
    with pytest.raises(ConfigError, match="given twice"):
        read_logins(["ann:a"], file=file, environ={})
    for look_alike in ("an\x1bn:a", "ann\u200b:a", "bob\u202eevil:a"):
        with pytest.raises(ConfigError, match="printable"):
            read_logins([look_alike], environ={})


def test_the_picture_must_be_an_image(tmp_path: Path) -> None:
    result = subprocess.run(
        [VOICEJUDGE, "rank", "--set", str(ROOT / "assets" / "voices"), "--image", "/etc/passwd"],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "VOICEJUDGE_HOME": str(tmp_path / "home")},
    )
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert "not an image" in result.stderr
