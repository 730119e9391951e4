"""Lineage: from a verdict, an evaluation or a prompt version back to the rankings behind it.

Walks the refs the steps leave in the store: a verdict or evaluation names its judge prompt; a
prompt version names the version it was rewritten from and the patterns it was rewritten with;
patterns name the `rank_audio` calls they were learned from; the answers on those calls name
the rater. Reads stored records through the tracking gateway; object refs are read from the
project they name.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Literal

from pydantic import BaseModel, Field, ValidationError
from weave.trace.weave_client import WeaveClient

from voicejudge.errors import VoiceJudgeError
from voicejudge.labels.feedback import comparisons_from
from voicejudge.labels.ranking import RecordedRanking, read_rankings
from voicejudge.learning.rubric import Criterion
from voicejudge.tracking.gateway import Call, read_call, read_object
from voicejudge.tracking.refs import (
    REF_PREFIX,
    call_id_of,
    call_uri,
    object_ref,
    op_name_of,
    refs_in,
)

NodeKind = Literal["call", "prompt", "patterns", "pattern", "comparison", "note"]
_MAX_DEPTH = 4


class LineageError(VoiceJudgeError):
    """A ref whose lineage cannot be read."""


class LineageNode(BaseModel):
    """One step in the lineage tree."""

    kind: NodeKind
    label: str
    ref: str | None = None
    details: dict[str, Any] = Field(default_factory=dict)
    children: list[LineageNode] = Field(default_factory=list)

    def walk(self) -> Iterator[LineageNode]:
        yield self
        for child in self.children:
            yield from child.walk()


class _Reader:
    def __init__(self, client: WeaveClient) -> None:
        self.client = client
        self.project_id = client.project_id
        self._rankings: dict[str, list[RecordedRanking]] | None = None
        self._listed: set[str] = set()

    def object(self, uri: str) -> tuple[str, int, dict[str, Any]]:
        try:
            ref = object_ref(uri)
        except ValueError as exc:
            raise LineageError(str(exc)) from None
        found = read_object(self.client, ref)
        if found is None:
            raise LineageError(f"No object {uri} in this store.")
        if not isinstance(found.val, dict):
            raise LineageError(f"{uri} holds a {type(found.val).__name__}, not an object.")
        return ref.name, found.version_index, found.val

    def call(self, call_id: str) -> Call:
        self.client.flush()
        call = read_call(self.client, call_id)
        if call is None:
            raise LineageError(
                f"No call {call_id!r} in project {self.project_id}. Give a call id (listed by "
                "`voicejudge traces`) or an object ref such as "
                f"{REF_PREFIX}{self.project_id}/object/judge-prompt:DIGEST (listed by "
                "`voicejudge traces objects`)."
            )
        return call

    def rankings(self, call_id: str) -> list[RecordedRanking]:
        if self._rankings is None:
            self._rankings = {}
            for recorded in read_rankings(self.client):
                self._rankings.setdefault(recorded.call_id, []).append(recorded)
        return self._rankings.get(call_id, [])

    # --- nodes ------------------------------------------------------------------------------

    def node(self, ref: str) -> LineageNode:
        if not ref.startswith(REF_PREFIX):
            return self.call_node(ref)
        call_id = call_id_of(ref)
        if call_id is not None:
            return self.call_node(call_id)
        name, _, value = self.object(ref)
        if value.get("_class_name") == "JudgePrompt":
            return self.prompt_node(ref)
        if value.get("_class_name") == "PreferencePatterns":
            return self.patterns_node(ref)
        prompt = self.find_prompt(value, 0)
        node = LineageNode(kind="note", label=f"{name} ({value.get('_class_name', 'object')})")
        node.ref = ref
        if prompt is not None:
            node.children.append(self.prompt_node(prompt))
        return node

    def call_node(self, call_id: str) -> LineageNode:
        call = self.call(call_id)
        op = op_name_of(call.op_name)
        node = LineageNode(
            kind="call", label=f"{op} call {call.id}", ref=call_uri(self.project_id, call.id)
        )
        if op == "rank_audio":
            node.children = self.comparison_nodes(call.id, raters=None)
            return node
        output = call.output if isinstance(call.output, dict) else {}
        node.details = {
            key: output[key]
            for key in ("winner", "position_consistency", "agreement", "labels", "round")
            if key in output
        }
        prompt = output.get("prompt_ref") if isinstance(output.get("prompt_ref"), str) else None
        # what a call produced says more than what it was given (a rewrite's new prompt)
        prompt = prompt or self.find_prompt(call.output, 0) or self.find_prompt(call.inputs, 0)
        if prompt is None:
            raise LineageError(
                f"Call {call_id} ({op}) names no judge prompt: give a verdict, an evaluation, "
                "a round, a prompt version or a rank_audio call."
            )
        node.children.append(self.prompt_node(prompt))
        return node

    def prompt_node(self, uri: str) -> LineageNode:
        name, version, value = self.object(uri)
        criteria = value.get("criteria") or []
        node = LineageNode(
            kind="prompt",
            label=f"{name}:v{version} ({len(criteria)} criteria)",
            ref=uri,
            details={"criteria": [_criterion_text(c) for c in criteria]},
        )
        if isinstance(value.get("patterns"), str):
            node.children.append(self.patterns_node(value["patterns"]))
        if isinstance(value.get("parent"), str):
            node.children.append(self.prompt_node(value["parent"]))
        else:
            node.children.append(LineageNode(kind="note", label="the starting prompt"))
        return node

    def patterns_node(self, uri: str) -> LineageNode:
        name, version, value = self.object(uri)
        strong, emerging = value.get("strong") or [], value.get("emerging") or []
        raters = list(value.get("raters") or [])
        calls = list(value.get("learned_from") or [])
        node = LineageNode(
            kind="patterns",
            label=(
                f"{name}:v{version}: learned by {value.get('learner')} from "
                f"{value.get('comparisons', 0)} comparisons ({', '.join(raters) or 'no rater'})"
            ),
            ref=uri,
            details={"learned_from": calls, "raters": raters},
        )
        for strength, items in (("strong", strong), ("emerging", emerging)):
            for pattern in items:
                node.children.append(
                    LineageNode(
                        kind="pattern",
                        label=f"[{strength}] {pattern.get('statement')} "
                        f"(support {pattern.get('support')}, against {pattern.get('against')})",
                    )
                )
        fresh = [c for c in calls if c not in self._listed]
        if len(fresh) < len(calls):
            node.children.append(
                LineageNode(
                    kind="note",
                    label=f"{len(calls) - len(fresh)} comparison calls listed above",
                )
            )
        for call_id in fresh:
            self._listed.add(call_id)
            node.children += self.comparison_nodes(call_id, raters=set(raters) or None)
        return node

    def comparison_nodes(self, call_id: str, raters: set[str] | None) -> list[LineageNode]:
        nodes = []
        for recorded in self.rankings(call_id):
            feedback = recorded.feedback
            if raters is not None and feedback.rater not in raters:
                continue
            for pair in comparisons_from(feedback, call_id):
                note = f" · note: {pair.note}" if pair.note else ""
                nodes.append(
                    LineageNode(
                        kind="comparison",
                        label=(
                            f"{pair.preferred_id} > {pair.rejected_id} · rater {pair.rater} "
                            f"({feedback.source}) · call {call_id}{note}"
                        ),
                        ref=call_uri(self.project_id, call_id),
                        details={
                            "preferred_id": pair.preferred_id,
                            "rejected_id": pair.rejected_id,
                            "rater": pair.rater,
                            "source": feedback.source,
                            "call_id": call_id,
                            "feedback_id": recorded.feedback_id,
                            "note": pair.note,
                        },
                    )
                )
        if not nodes:
            nodes.append(LineageNode(kind="note", label=f"call {call_id}: no answer stored"))
        return nodes

    def find_prompt(self, value: Any, depth: int) -> str | None:
        """The first judge-prompt ref inside a record, following object refs a few levels."""
        for uri in refs_in(value):
            if call_id_of(uri) is not None or depth >= _MAX_DEPTH:
                continue
            try:
                _, _, found = self.object(uri)
            except LineageError:
                continue
            if found.get("_class_name") == "JudgePrompt":
                return uri
            deeper = self.find_prompt(found, depth + 1)
            if deeper is not None:
                return deeper
        return None


def lineage(ref: str, client: WeaveClient) -> LineageNode:
    """The lineage tree of a prompt version, patterns, verdict, evaluation, round or
    `rank_audio` call, given as a `weave:///` ref or a call id."""
    return _Reader(client).node(ref.strip())


def comparisons_in(tree: LineageNode) -> list[dict[str, Any]]:
    """Every comparison in a lineage tree, as its details."""
    return [node.details for node in tree.walk() if node.kind == "comparison"]


def _criterion_text(value: Any) -> str:
    try:
        return Criterion.model_validate(value).describe()
    except ValidationError:
        return f"a criterion voicejudge cannot read: {value!r}"
