"""Voice samples and sample sets: folders with a manifest, folders of audio, Weave datasets.

A `SampleSet` is what gets ranked and judged. It loads from a folder (with `manifest.csv` or
`manifest.jsonl`, or just audio files), from a Weave dataset ref (this project's rows, or the
original voice-judge notebook's), publishes as a `weave.Dataset`, and splits deterministically
into a ranking pool and a held-out set.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import wave
from collections import Counter
from collections.abc import Iterator
from importlib import resources
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field, PrivateAttr, model_validator

from voicejudge.audio.clip import DEFAULT_MAX_DURATION_S, AudioClip, anonymous_wav, load_audio
from voicejudge.errors import VoiceJudgeError
from voicejudge.tracking.refs import REF_PREFIX, object_ref

AUDIO_SUFFIXES = (".wav", ".flac", ".ogg")
MANIFEST_NAMES = ("manifest.jsonl", "manifest.csv")
_FILE_COLUMNS = ("file", "path", "audio", "audio_file_path")
_INSTRUCTION_COLUMNS = ("instructions", "voice_instructions")
# The 40 demo voices shipped with the package (`assets/voices` in a checkout).
BUNDLED_VOICES = Path(str(resources.files("voicejudge.assets").joinpath("voices")))


class SampleSetError(VoiceJudgeError):
    """A sample set that cannot be loaded as given."""


class DuplicateSampleIdError(SampleSetError):
    """Two or more samples share an id."""


class UnknownSampleError(SampleSetError):
    """An id that is not in the set."""


class VoiceSample(BaseModel):
    """One voice take: its audio, what it was asked to sound like, and anything else known."""

    id: str = Field(min_length=1)
    audio: Path | bytes
    instructions: str | None = None
    meta: dict[str, Any] = Field(default_factory=dict)

    _clips: dict[float, AudioClip] = PrivateAttr(default_factory=dict)

    def clip(self, max_duration_s: float = DEFAULT_MAX_DURATION_S) -> AudioClip:
        """The validated audio of this sample (decoded once per sample)."""
        if max_duration_s not in self._clips:
            name = str(self.audio) if isinstance(self.audio, Path) else f"sample {self.id!r}"
            self._clips[max_duration_s] = load_audio(
                self.audio, clip_id=self.id, name=name, max_duration_s=max_duration_s
            )
        return self._clips[max_duration_s]

    def blind_audio(self) -> bytes:
        """The take as a WAV that reveals nothing but its sound (no file name, no tags)."""
        data = self.audio.read_bytes() if isinstance(self.audio, Path) else self.audio
        return anonymous_wav(data, str(self.audio) if isinstance(self.audio, Path) else self.id)


class SampleSet(BaseModel):
    """Samples with unique ids, in a stable order."""

    name: str
    samples: list[VoiceSample]

    @model_validator(mode="after")
    def _unique_ids(self) -> SampleSet:
        counts = Counter(sample.id for sample in self.samples)
        duplicates = sorted(sample_id for sample_id, n in counts.items() if n > 1)
        if duplicates:
            raise DuplicateSampleIdError(
                f"Sample set {self.name!r} has duplicate ids: {', '.join(duplicates)}. "
                "Give every sample a unique id."
            )
        return self

    def __len__(self) -> int:
        return len(self.samples)

    def __iter__(self) -> Iterator[VoiceSample]:  # type: ignore[override]
        return iter(self.samples)

    @property
    def ids(self) -> list[str]:
        return [sample.id for sample in self.samples]

    def get(self, sample_id: str) -> VoiceSample:
        for sample in self.samples:
            if sample.id == sample_id:
                return sample
        known = ", ".join(self.ids[:5]) + (", ..." if len(self) > 5 else "")
        raise UnknownSampleError(f"No sample {sample_id!r} in set {self.name!r} (ids: {known}).")

    def split(self, heldout: int, seed: int = 0) -> tuple[SampleSet, SampleSet]:
        """(ranking pool, held-out set): the same ids land held out for the same seed, and
        adding samples never moves an existing sample between the two."""
        if not 0 <= heldout < len(self):
            raise SampleSetError(
                f"Cannot hold out {heldout} of {len(self)} samples in {self.name!r}; "
                f"choose 0 to {len(self) - 1}."
            )
        ranked = sorted(self.samples, key=lambda s: _split_key(seed, s.id))
        held_ids = {sample.id for sample in ranked[:heldout]}
        pool = [s for s in self.samples if s.id not in held_ids]
        held = [s for s in self.samples if s.id in held_ids]
        return (
            SampleSet(name=f"{self.name}-pool", samples=pool),
            SampleSet(name=f"{self.name}-heldout", samples=held),
        )


def load_sample_set(source: str | Path, name: str | None = None) -> SampleSet:
    """A set from a folder, a manifest file, or a `weave:///` dataset ref."""
    if isinstance(source, str) and source.startswith(REF_PREFIX):
        return _from_weave(source, name)
    path = Path(source)
    _check_text(path, "the path of the set")
    if not path.exists():
        raise SampleSetError(f"{path}: no such folder or manifest.")
    if path.is_file():
        return _from_manifest(path, name or path.parent.name)
    for manifest in MANIFEST_NAMES:
        if (path / manifest).is_file():
            return _from_manifest(path / manifest, name or path.name)
    files = sorted(p for p in path.iterdir() if p.suffix.lower() in AUDIO_SUFFIXES)
    if not files:
        raise SampleSetError(
            f"{path}: no manifest ({' or '.join(MANIFEST_NAMES)}) and no audio files "
            f"({', '.join(AUDIO_SUFFIXES)})."
        )
    return SampleSet(
        name=name or path.name,
        samples=[VoiceSample(id=sample_id_of(p), audio=p) for p in files],
    )


def sample_id_of(path: Path) -> str:
    """A file's sample id: its name without the extension, which must be valid text."""
    _check_text(path, "the file name (sample ids are taken from file names)")
    return path.stem


def _check_text(path: Path, what: str) -> None:
    try:
        str(path).encode("utf-8")
    except UnicodeEncodeError:
        raise SampleSetError(f"{path}: {what} is not valid UTF-8. Rename it.") from None


def publish_sample_set(samples: SampleSet, name: str | None = None) -> Any:
    """Publish as a `weave.Dataset` (audio as `weave.Audio` WAV) and return its ref."""
    import weave

    rows = [
        {
            "id": sample.id,
            "audio": sample.clip().to_weave(),
            "instructions": sample.instructions,
            "meta": sample.meta,
        }
        for sample in samples
    ]
    dataset_name = name or samples.name
    return weave.publish(weave.Dataset(name=dataset_name, rows=rows), name=dataset_name)


def _from_manifest(manifest: Path, name: str) -> SampleSet:
    try:
        text = manifest.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise SampleSetError(f"{manifest}: cannot read the manifest ({exc}).") from None
    if manifest.suffix.lower() == ".jsonl":
        rows = []
        for number, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                raise SampleSetError(f"{manifest}:{number}: not JSON ({exc.msg}).") from None
            if not isinstance(row, dict):
                raise SampleSetError(f"{manifest}:{number}: each line must be a JSON object.")
            rows.append(row)
    elif manifest.suffix.lower() == ".csv":
        rows = list(csv.DictReader(io.StringIO(text)))
    else:
        raise SampleSetError(f"{manifest}: a manifest must be .csv or .jsonl.")
    return SampleSet(
        name=name,
        samples=[_manifest_sample(manifest, n, row) for n, row in enumerate(rows, start=2)],
    )


def _manifest_sample(manifest: Path, line: int, row: dict[str, Any]) -> VoiceSample:
    file_key = next((k for k in _FILE_COLUMNS if row.get(k)), None)
    if file_key is None:
        raise SampleSetError(
            f"{manifest}, row {line}: no audio file column ({' or '.join(_FILE_COLUMNS)})."
        )
    audio = manifest.parent / str(row[file_key])
    if not audio.is_file():
        raise SampleSetError(f"{manifest}, row {line}: audio file {audio} does not exist.")
    sample_id = str(row.get("id") or audio.stem)
    instructions_key = next((k for k in _INSTRUCTION_COLUMNS if row.get(k)), None)
    skip = {"id", file_key, *(_INSTRUCTION_COLUMNS)}
    return VoiceSample(
        id=sample_id,
        audio=audio,
        instructions=str(row[instructions_key]) if instructions_key else None,
        meta={k: v for k, v in row.items() if k not in skip},
    )


def _from_weave(ref_uri: str, name: str | None) -> SampleSet:
    from voicejudge.tracking import read_ref

    try:
        dataset = read_ref(ref_uri)
        rows = list(dataset.rows)
    except Exception as exc:  # weave raises several types for a missing or bad ref
        raise SampleSetError(f"{ref_uri}: cannot load the dataset ({exc}).") from None
    samples = [_weave_row_sample(ref_uri, index, row) for index, row in enumerate(rows)]
    dataset_name = object_ref(ref_uri).name
    return SampleSet(name=name or dataset_name, samples=samples)


def _weave_row_sample(ref_uri: str, index: int, row: Any) -> VoiceSample:
    values = {key: row[key] for key in row}
    if "voice_instructions_id" in values:  # the original voice-judge notebook's row shape
        sample_id = str(values.pop("voice_instructions_id"))
        instructions = values.pop("voice_instructions", None)
        meta = {k: v for k, v in values.items() if k != "audio"}
    else:
        sample_id = str(values.get("id") or f"row-{index}")
        instructions = values.get("instructions")
        meta = dict(values.get("meta") or {})
    if "audio" not in values:
        raise SampleSetError(f"{ref_uri}: row {index} has no 'audio' column.")
    return VoiceSample(
        id=sample_id,
        audio=_audio_bytes(values["audio"], f"{ref_uri} row {index}"),
        instructions=str(instructions) if instructions is not None else None,
        meta=_plain(meta),
    )


def _audio_bytes(audio: Any, where: str) -> bytes:
    if isinstance(audio, wave.Wave_read):
        audio.rewind()
        buffer = io.BytesIO()
        with wave.open(buffer, "wb") as out:
            out.setparams(audio.getparams())
            out.writeframes(audio.readframes(audio.getnframes()))
        return buffer.getvalue()
    data = getattr(audio, "data", None)
    if isinstance(data, bytes):
        return data
    if isinstance(audio, bytes):
        return audio
    raise SampleSetError(f"{where}: audio of type {type(audio).__name__} is not supported.")


def _plain(value: Any) -> Any:
    """Weave's boxed dicts and lists as plain Python values."""
    if isinstance(value, dict) or hasattr(value, "items"):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def _split_key(seed: int, sample_id: str) -> str:
    return hashlib.sha256(f"{seed}:{sample_id}".encode()).hexdigest()
