"""Loading, validation and conversion of clips, through the API and `voicejudge analyze`."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from tests.audio_corpus import bad_files, good_files, tone
from voicejudge.audio import AudioError, load_audio

VOICEJUDGE = str(Path(sys.executable).parent / "voicejudge")


def run_analyze(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "COLUMNS": "200"}
    return subprocess.run(
        [VOICEJUDGE, "analyze", *args], capture_output=True, text=True, env=env, timeout=120
    )


def test_unusual_but_valid_files_load(tmp_path: Path) -> None:
    for kind, path in good_files(tmp_path).items():
        clip = load_audio(path)
        assert clip.samples.ndim == 1, kind
        assert clip.samples.dtype == np.float32, kind
        assert 0.9 < clip.duration_s < 1.1, kind
        assert clip.id == path.stem
        assert len(clip.sha256) == 64


def test_stereo_is_mixed_down_and_rates_are_kept(tmp_path: Path) -> None:
    files = good_files(tmp_path)
    stereo = load_audio(files["stereo_24bit_48k"])
    assert (stereo.sample_rate, stereo.original_channels) == (48000, 2)
    left, _ = sf.read(files["stereo_24bit_48k"], dtype="float32")
    assert np.allclose(stereo.samples, left.mean(axis=1), atol=1e-6)
    assert len(stereo.resampled(16000)) == pytest.approx(16000, abs=2)
    assert load_audio(files["narrowband_8k"]).sample_rate == 8000


def test_clip_converts_to_wav_and_weave_audio(tmp_path: Path) -> None:
    clip = load_audio(good_files(tmp_path)["flac"])
    wav = clip.to_wav_bytes()
    again, rate = sf.read(io.BytesIO(wav), dtype="float32")
    assert rate == 16000
    assert np.array_equal(again, clip.samples)
    audio = clip.to_weave()
    assert audio.format == "wav" and audio.data == wav


def test_a_blind_copy_keeps_the_sound_and_drops_names_and_tags(tmp_path: Path) -> None:
    from voicejudge.audio.clip import anonymous_wav

    stereo = np.stack([np.sin(np.arange(24000) / 9.0), np.cos(np.arange(24000) / 7.0)], axis=1)
    tagged = tmp_path / "voice-007-wild.flac"
    with sf.SoundFile(tagged, "w", 48000, 2, subtype="PCM_24", format="FLAC") as out:
        out.title = "voice-007 gravel take"
        out.write(0.5 * stereo)
    blind = anonymous_wav(tagged.read_bytes())
    assert b"voice-007" not in blind and b"gravel" not in blind
    again, rate = sf.read(io.BytesIO(blind), dtype="float64")
    info = sf.info(io.BytesIO(blind))
    assert (rate, info.channels, info.subtype) == (48000, 2, "PCM_24")
    original, _ = sf.read(tagged, dtype="float64")
    assert np.max(np.abs(again - original)) < 1e-6


def test_bad_inputs_raise_clear_errors(tmp_path: Path) -> None:
    corpus = bad_files(tmp_path)
    assert len(corpus) >= 12
    for kind, (path, needle) in corpus.items():
        with pytest.raises(AudioError) as caught:
            load_audio(path)
        message = str(caught.value)
        assert needle.lower() in message.lower(), (kind, message)
        assert str(path) in message, (kind, message)


def test_bytes_are_named_in_errors() -> None:
    with pytest.raises(AudioError, match=r"upload\.wav: the file is empty"):
        load_audio(b"", name="upload.wav")


def test_max_duration_is_configurable(tmp_path: Path) -> None:
    path = tmp_path / "two-seconds.wav"
    sf.write(path, tone(2.0), 16000)
    with pytest.raises(AudioError, match="1 s limit"):
        load_audio(path, max_duration_s=1.0)


@pytest.mark.slow
def test_analyze_reports_good_files_and_errors(tmp_path: Path) -> None:
    good = good_files(tmp_path / "good")
    bad = bad_files(tmp_path / "bad")
    paths = [str(p) for p in good.values()] + [str(p) for p, _ in bad.values()]
    result = run_analyze("--json", *paths)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    reports = json.loads(result.stdout)
    assert [r["file"] for r in reports] == paths
    by_file = {r["file"]: r for r in reports}
    for path in good.values():
        report = by_file[str(path)]
        assert set(report) == {"file", "features", "quality"}
        assert report["features"]["duration_s"] == pytest.approx(1.0, abs=0.05)
        assert 1 <= report["quality"]["overall"] <= 5
    for path, needle in bad.values():
        assert needle.lower() in by_file[str(path)]["error"].lower()


@pytest.mark.slow
def test_analyze_table_and_exit_codes(tmp_path: Path) -> None:
    good = good_files(tmp_path)
    ok = run_analyze(str(good["flac"]), str(good["ogg_vorbis"]))
    assert ok.returncode == 0, ok.stderr
    assert "take.flac" in ok.stdout and "take.ogg" in ok.stdout
    broken = tmp_path / "broken.wav"
    broken.write_bytes(b"nope")
    mixed = run_analyze(str(good["flac"]), str(broken))
    assert mixed.returncode == 1
    assert "take.flac" in mixed.stdout
    assert "broken.wav" in mixed.stderr and "Traceback" not in mixed.stderr
