"""Sample sets: manifests, plain folders, Weave datasets (ours and the notebook's), splits."""

from __future__ import annotations

import json
import subprocess
import sys
import wave
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import weave

from tests.audio_corpus import tone
from voicejudge.audio.sample_set import (
    DuplicateSampleIdError,
    SampleSet,
    SampleSetError,
    UnknownSampleError,
    VoiceSample,
    load_sample_set,
    publish_sample_set,
)

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "assets" / "voices"


def _folder_of_audio(folder: Path, names: list[str]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for index, name in enumerate(names):
        sf.write(folder / name, tone(freq=120 + 10 * index), 16000)
    return folder


def test_bundled_demo_set_loads_from_its_manifest() -> None:
    samples = load_sample_set(DEMO)
    assert len(samples) == 40
    assert samples.name == "voices"
    first = samples.get("voice-000")
    assert isinstance(first.audio, Path) and first.audio.suffix == ".flac"
    assert first.instructions and first.instructions.endswith(".")
    assert {"variant", "pitch", "speed", "snr_db"} <= set(first.meta)
    assert sum(f.stat().st_size for f in DEMO.glob("*.flac")) <= 5 * 1024 * 1024


def test_jsonl_manifest_keeps_types(tmp_path: Path) -> None:
    folder = _folder_of_audio(tmp_path / "set", ["a.wav", "b.wav"])
    rows = [
        {"id": "take-a", "file": "a.wav", "voice_instructions": "gruff", "pitch": 12},
        {"id": "take-b", "path": "b.wav", "tags": ["calm"]},
    ]
    (folder / "manifest.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    samples = load_sample_set(folder)
    assert samples.ids == ["take-a", "take-b"]
    assert samples.get("take-a").instructions == "gruff"
    assert samples.get("take-a").meta == {"pitch": 12}
    assert samples.get("take-b").meta == {"tags": ["calm"]}


def test_folder_of_audio_alone(tmp_path: Path) -> None:
    folder = _folder_of_audio(tmp_path / "plain", ["b.flac", "a.wav", "c.ogg"])
    (folder / "readme.txt").write_text("not audio")
    samples = load_sample_set(folder)
    assert samples.ids == ["a", "b", "c"]
    assert all(sample.instructions is None for sample in samples)


def test_duplicate_ids_are_named(tmp_path: Path) -> None:
    folder = _folder_of_audio(tmp_path / "dups", ["a.wav", "b.wav", "c.wav"])
    (folder / "manifest.csv").write_text("id,file\ntake,a.wav\nother,b.wav\ntake,c.wav\n")
    with pytest.raises(DuplicateSampleIdError, match="duplicate ids: take"):
        load_sample_set(folder)


def test_manifest_problems_name_the_row(tmp_path: Path) -> None:
    folder = _folder_of_audio(tmp_path / "broken", ["a.wav"])
    (folder / "manifest.csv").write_text("id,file\nok,a.wav\nlost,missing.wav\n")
    with pytest.raises(SampleSetError, match=r"row 3: audio file .*missing\.wav does not exist"):
        load_sample_set(folder)
    (folder / "manifest.csv").unlink()
    (folder / "manifest.jsonl").write_text('{"id": "x", "file": "a.wav"}\nnot json\n')
    with pytest.raises(SampleSetError, match=r"manifest\.jsonl:2: not JSON"):
        load_sample_set(folder)
    with pytest.raises(SampleSetError, match="no such folder"):
        load_sample_set(tmp_path / "nowhere")
    with pytest.raises(SampleSetError, match="no manifest"):
        load_sample_set(tmp_path / "broken" / "..")


def test_unknown_id_is_a_clear_error() -> None:
    with pytest.raises(UnknownSampleError, match="No sample 'nope' in set 'voices'"):
        load_sample_set(DEMO).get("nope")


def test_split_is_deterministic_disjoint_and_stable() -> None:
    samples = load_sample_set(DEMO)
    pool, held = samples.split(heldout=8, seed=3)
    again_pool, again_held = samples.split(heldout=8, seed=3)
    assert held.ids == again_held.ids and pool.ids == again_pool.ids
    assert len(held) == 8 and len(pool) == 32
    assert not set(pool.ids) & set(held.ids)
    assert samples.split(heldout=8, seed=4)[1].ids != held.ids
    fewer = SampleSet(name="fewer", samples=[s for s in samples if s.id != pool.ids[0]])
    assert set(fewer.split(heldout=8, seed=3)[1].ids) == set(held.ids)
    with pytest.raises(SampleSetError, match="Cannot hold out 40 of 40"):
        samples.split(heldout=40)


@pytest.mark.slow
def test_published_set_reads_back_byte_identical_in_another_process(client) -> None:
    samples = load_sample_set(DEMO)
    ref = publish_sample_set(samples, name="demo-voices")
    client.flush()
    script = (
        "import hashlib, json, sys\n"
        "from tests import netguard; netguard.install()\n"
        "from voicejudge.audio.sample_set import load_sample_set\n"
        "s = load_sample_set(sys.argv[1])\n"
        "print(json.dumps({x.id: [hashlib.sha256(x.audio).hexdigest(), x.instructions,"
        " x.meta.get('variant')] for x in s}))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script, ref.uri()],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    loaded = json.loads(result.stdout)
    import hashlib

    assert list(loaded) == samples.ids
    for sample in samples:
        published = sample.clip().to_weave().data
        digest, instructions, variant = loaded[sample.id]
        assert digest == hashlib.sha256(published).hexdigest()
        assert instructions == sample.instructions
        assert variant == sample.meta["variant"]
    reloaded = load_sample_set(ref.uri()).get("voice-005").clip()
    original, _ = sf.read(DEMO / "voice-005.flac", dtype="float32")
    assert np.array_equal(reloaded.samples, original)


def test_notebook_dataset_rows_load(client, tmp_path: Path) -> None:
    paths = []
    for index in range(3):
        path = tmp_path / f"take{index}.wav"
        sf.write(path, tone(freq=100 + 30 * index), 16000, subtype="PCM_16")
        paths.append(path)
    rows = [
        {
            "voice_instructions_id": f"vi-{index}",
            "voice_instructions": f"gravelly take {index}",
            "audio": wave.open(str(path), "rb"),  # noqa: SIM115
            "tts_model_name": "gpt-4o-mini-tts",
            "voice": "ash",
            "audio_file_path": str(path),
        }
        for index, path in enumerate(paths)
    ]
    ref = weave.publish(weave.Dataset(name="notebook", rows=rows), name="notebook")
    for row in rows:
        row["audio"].close()
    samples = load_sample_set(ref.uri())
    assert samples.ids == ["vi-0", "vi-1", "vi-2"]
    assert samples.get("vi-1").instructions == "gravelly take 1"
    assert samples.get("vi-1").meta["voice"] == "ash"
    assert samples.get("vi-2").audio == paths[2].read_bytes()


def test_bad_weave_ref_is_a_clear_error(client) -> None:
    with pytest.raises(SampleSetError, match="cannot load the dataset"):
        load_sample_set(f"weave:///{client.entity}/{client.project}/object/missing:latest")


def test_samples_reject_empty_ids() -> None:
    with pytest.raises(ValueError):
        VoiceSample(id="", audio=b"x")


def test_demo_manifest_matches_its_files() -> None:
    manifest = [json.loads(line) for line in (DEMO / "manifest.jsonl").read_text().splitlines()]
    assert sorted(row["file"] for row in manifest) == sorted(p.name for p in DEMO.glob("*.flac"))
    assert all(
        {"variant", "pitch", "speed", "seed", "instructions"} <= set(row) for row in manifest
    )
