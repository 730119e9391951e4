"""The unchanged weave client, driven through its public API against the embedded store."""

from __future__ import annotations

import asyncio
import io
import wave

import numpy as np
import pytest
import weave
from weave.trace.weave_client import WeaveClient

from voicejudge import LocalTraceServer


def _reopened(client: WeaveClient) -> WeaveClient:
    """A second client on a second server instance over the same file: reads what was stored."""
    client.flush()
    server = LocalTraceServer(client.server.path)
    return WeaveClient(client.entity, client.project, server, ensure_project_exists=False)


def _wav_bytes(seconds: float = 0.25, rate: int = 16000, freq: float = 220.0) -> bytes:
    t = np.arange(int(seconds * rate)) / rate
    samples = (0.3 * np.sin(2 * np.pi * freq * t) * 32767).astype("<i2")
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(samples.tobytes())
    return buffer.getvalue()


@weave.op
def add(a: int, b: int) -> int:
    return a + b


@weave.op
def double_sum(a: int, b: int) -> int:
    return add(a, b) * 2


@weave.op
async def slow_square(x: int) -> int:
    await asyncio.sleep(0)
    return x * x


@weave.op
def explode(reason: str) -> None:
    raise ValueError(reason)


def test_sync_nested_async_and_raising_ops_are_stored(client: WeaveClient) -> None:
    assert double_sum(2, 3) == 10
    assert asyncio.run(slow_square(4)) == 16
    with pytest.raises(ValueError, match="boom"):
        explode("boom")

    stored = list(_reopened(client).get_calls())
    by_name = {c.summary["weave"]["trace_name"]: c for c in stored}
    assert set(by_name) == {"double_sum", "add", "slow_square", "explode"}
    assert by_name["add"].parent_id == by_name["double_sum"].id
    assert by_name["add"].trace_id == by_name["double_sum"].trace_id
    assert by_name["add"].inputs == {"a": 2, "b": 3}
    assert by_name["double_sum"].output == 10
    assert by_name["slow_square"].output == 16
    assert by_name["explode"].summary["weave"]["status"] == "error"
    assert "boom" in by_name["explode"].exception
    assert by_name["double_sum"].summary["weave"]["status"] == "success"
    assert by_name["double_sum"].summary["weave"]["latency_ms"] >= 0


def test_op_call_returns_the_stored_call(client: WeaveClient) -> None:
    result, call = add.call(1, 2)
    assert result == 3
    stored = _reopened(client).get_call(call.id)
    assert stored.id == call.id
    assert stored.output == 3
    assert stored.op_name == call.op_name


def test_feedback_add_reaction_note_read_back(client: WeaveClient) -> None:
    _, call = add.call(1, 1)
    call.feedback.add("voicejudge.ranking", {"ranking": ["b", "a"], "rater": "ann"})
    call.feedback.add_reaction("👍")
    call.feedback.add_note("the second take is rougher")

    reread = _reopened(client).get_call(call.id)
    feedback = list(reread.feedback)
    kinds = [f.feedback_type for f in feedback]
    assert kinds == ["voicejudge.ranking", "wandb.reaction.1", "wandb.note.1"]
    assert feedback[0].payload == {"ranking": ["b", "a"], "rater": "ann"}
    assert feedback[1].payload["emoji"] == "👍"
    assert feedback[2].payload["note"] == "the second take is rougher"
    assert all(f.weave_ref == call.ref.uri() for f in feedback)


def test_feedback_purge_and_replace(client: WeaveClient) -> None:
    _, call = add.call(2, 2)
    first = call.feedback.add("score", {"value": 1})
    second = call.feedback.add("score", {"value": 2})
    call.feedback.purge(first)
    payloads = [f.payload for f in client.get_call(call.id).feedback]
    assert payloads == [{"value": 2}]

    client.server.feedback_replace(
        {
            "project_id": client.project_id,
            "feedback_id": second,
            "weave_ref": call.ref.uri(),
            "feedback_type": "score",
            "payload": {"value": 3},
        }
    )
    payloads = [f.payload for f in client.get_call(call.id).feedback]
    assert payloads == [{"value": 3}]


def test_dataset_with_audio_round_trips_byte_exact(client: WeaveClient, tmp_path) -> None:
    takes = [_wav_bytes(freq=f) for f in (110.0, 220.0)]
    wave_path = tmp_path / "take.wav"
    wave_path.write_bytes(takes[1])
    rows = [
        {"id": "take-1", "audio": weave.Audio(data=takes[0], format="wav")},
        {"id": "take-2", "audio": wave.open(str(wave_path), "rb")},  # noqa: SIM115
    ]
    ref = weave.publish(weave.Dataset(name="voices", rows=rows), name="voices")
    rows[1]["audio"].close()

    dataset = _reopened(client).get(ref)
    got = list(dataset.rows)
    assert [row["id"] for row in got] == ["take-1", "take-2"]
    assert got[0]["audio"].data == takes[0]
    read_back = got[1]["audio"]
    assert isinstance(read_back, wave.Wave_read)
    with wave.open(str(wave_path), "rb") as original:
        assert read_back.getparams() == original.getparams()
        assert read_back.readframes(read_back.getnframes()) == original.readframes(
            original.getnframes()
        )


def test_row_refs_resolve_to_their_row(client: WeaveClient) -> None:
    ref = weave.publish(weave.Dataset(rows=[{"n": 1}, {"n": 2}, {"n": 3}]), name="numbers")
    dataset = ref.get()
    row_ref = dataset.rows[1].ref
    assert row_ref is not None
    assert "/attr/rows/id/" in row_ref.uri()
    assert weave.ref(row_ref.uri()).get()["n"] == 2


def test_string_prompt_publish_and_format(client: WeaveClient) -> None:
    ref = weave.publish(weave.StringPrompt("Judge {voice} for grit."), name="judge-seed")
    prompt = _reopened(client).get(ref)
    assert prompt.format(voice="take-7") == "Judge take-7 for grit."


class Rubric(weave.Object):
    criteria: list[str]


def test_object_versions_latest_vn_and_digest(client: WeaveClient) -> None:
    first = weave.publish(Rubric(criteria=["low pitch"]), name="rubric")
    second = weave.publish(Rubric(criteria=["low pitch", "rough"]), name="rubric")
    again = weave.publish(Rubric(criteria=["low pitch", "rough"]), name="rubric")
    assert first.digest != second.digest
    assert again.digest == second.digest

    base = f"weave:///{client.entity}/{client.project}/object/rubric"
    assert weave.ref(f"{base}:latest").get().criteria == ["low pitch", "rough"]
    assert weave.ref(f"{base}:v0").get().criteria == ["low pitch"]
    assert weave.ref(f"{base}:{first.digest}").get().criteria == ["low pitch"]
    versions = client.server.objs_query(
        {"project_id": client.project_id, "filter": {"object_ids": ["rubric"]}}
    ).objs
    assert [(o.version_index, o.is_latest) for o in versions] == [(0, 0), (1, 1)]


def test_publish_with_tags_and_aliases(client: WeaveClient) -> None:
    ref = weave.publish(Rubric(criteria=["slow"]), name="tagged", tags=["seed"], aliases=["prod"])
    assert client.get_tags(ref) == ["seed"]
    assert set(client.get_aliases(ref)) == {"latest", "prod"}
    base = f"weave:///{client.entity}/{client.project}/object/tagged"
    assert weave.ref(f"{base}:prod").get().criteria == ["slow"]


class EchoJudge(weave.Model):
    prefix: str

    @weave.op
    def predict(self, voice: str) -> str:
        return f"{self.prefix}{voice}"


def test_model_publish_and_predict(client: WeaveClient) -> None:
    ref = weave.publish(EchoJudge(prefix="best: "), name="echo-judge")
    model = _reopened(client).get(ref)
    assert model.predict("take-3") == "best: take-3"
    client.flush()
    predictions = [c for c in client.get_calls() if "predict" in c.op_name]
    assert predictions and predictions[0].output == "best: take-3"
    assert predictions[0].inputs["self"].ref.uri() == ref.uri()


def test_get_calls_filters_and_expr_query(client: WeaveClient) -> None:
    for a in range(5):
        double_sum(a, 10)
    add(100, 1)
    client.flush()
    op_ref = add.ref.uri() if add.ref else None
    assert op_ref
    any_add = f"{op_ref.rsplit(':', 1)[0]}:*"

    all_adds = list(client.get_calls(filter={"op_names": [any_add]}))
    assert len(all_adds) == 6
    exact = list(client.get_calls(filter={"op_names": [op_ref]}))
    assert len(exact) == 6
    roots = list(client.get_calls(filter={"trace_roots_only": True}))
    assert len(roots) == 6
    parent = roots[0]
    children = list(client.get_calls(filter={"parent_ids": [parent.id]}))
    assert [c.inputs["a"] for c in children] == [0]
    by_trace = list(client.get_calls(filter={"trace_ids": [parent.trace_id]}))
    assert len(by_trace) == 2

    big = list(
        client.get_calls(
            filter={"op_names": [any_add]},
            query={
                "$expr": {
                    "$gt": [
                        {"$convert": {"input": {"$getField": "inputs.a"}, "to": "int"}},
                        {"$literal": 3},
                    ]
                }
            },
        )
    )
    assert sorted(c.inputs["a"] for c in big) == [4, 100]
    newest_first = list(
        client.get_calls(
            filter={"op_names": [any_add]},
            sort_by=[{"field": "started_at", "direction": "desc"}],
            limit=2,
        )
    )
    assert [c.inputs["a"] for c in newest_first] == [100, 4]
    assert len(client.get_calls(filter={"op_names": [any_add]})) == 6


def test_calls_with_input_and_output_refs(client: WeaveClient) -> None:
    rubric_ref = weave.publish(Rubric(criteria=["calm"]), name="calm")

    @weave.op
    def use_rubric(rubric: Rubric) -> int:
        return len(rubric.criteria)

    @weave.op
    def make_rubric() -> Rubric:
        return rubric_ref.get()

    use_rubric(rubric_ref.get())
    make_rubric()
    client.flush()
    uses = list(client.get_calls(filter={"input_refs": [rubric_ref.uri()]}))
    makes = list(client.get_calls(filter={"output_refs": [rubric_ref.uri()]}))
    assert [c.output for c in uses] == [1]
    assert len(makes) == 1


def test_get_calls_include_feedback(client: WeaveClient) -> None:
    _, call = add.call(3, 3)
    call.feedback.add_note("fine")
    client.flush()
    rows = list(
        client.server.calls_query_stream(
            {"project_id": client.project_id, "include_feedback": True}
        )
    )
    assert rows[0].summary["weave"]["feedback"][0]["payload"] == {"note": "fine"}


def test_evaluation_with_scorer(client: WeaveClient) -> None:
    dataset = weave.Dataset(
        rows=[{"voice": "a", "expected": "best: a"}, {"voice": "b", "expected": "nope"}]
    )

    @weave.op
    def exact(expected: str, output: str) -> dict:
        return {"match": expected == output}

    evaluation = weave.Evaluation(dataset=dataset, scorers=[exact], name="echo-eval")
    summary = asyncio.run(evaluation.evaluate(EchoJudge(prefix="best: ")))
    assert summary["exact"]["match"]["true_count"] == 1

    reread = _reopened(client)
    eval_calls = [c for c in reread.get_calls() if "Evaluation.evaluate" in c.op_name]
    assert len(eval_calls) == 1
    assert eval_calls[0].output["exact"]["match"]["true_count"] == 1
    assert len(list(reread.get_calls(filter={"parent_ids": [eval_calls[0].id]}))) >= 2


def test_evaluation_logger(client: WeaveClient) -> None:
    logger = weave.EvaluationLogger(model="hand-ranker", dataset="pairs")
    for voice, good in (("a", True), ("b", False)):
        prediction = logger.log_prediction(inputs={"voice": voice}, output=voice)
        prediction.log_score("agrees", good)
        prediction.finish()
    logger.log_summary({"agreement": 0.5})
    client.flush()
    names = [c.op_name for c in _reopened(client).get_calls()]
    assert sum("Evaluation.evaluate" in name for name in names) == 1
    assert sum("Model.predict" in name for name in names) == 2
    assert sum("/op/agrees:" in name for name in names) == 2


def test_delete_call_removes_it_and_its_children(client: WeaveClient) -> None:
    _, call = double_sum.call(1, 1)
    keep = add(5, 5)
    assert keep == 10
    client.flush()
    assert len(client.get_calls()) == 3
    client.delete_call(call)
    remaining = list(_reopened(client).get_calls())
    assert [c.inputs for c in remaining] == [{"a": 5, "b": 5}]


def test_display_name_update(client: WeaveClient) -> None:
    _, call = add.call(7, 7)
    call.set_display_name("seven plus seven")
    client.flush()
    assert _reopened(client).get_call(call.id).display_name == "seven plus seven"


def test_missing_items_raise_not_found(client: WeaveClient) -> None:
    from weave.trace.errors import NotFoundError

    with pytest.raises(NotFoundError):
        client.server.obj_read(
            {"project_id": client.project_id, "object_id": "nothing", "digest": "latest"}
        )
    with pytest.raises(NotFoundError):
        client.server.file_content_read({"project_id": client.project_id, "digest": "nope"})
    with pytest.raises(NotFoundError):
        client.server.table_query({"project_id": client.project_id, "digest": "nope"})
