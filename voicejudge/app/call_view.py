"""What `voicejudge traces show` prints: one call on about a screen (ids whole, inputs and
output one line per key, feedback two lines per item, children counted by op)."""

from __future__ import annotations

import textwrap
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from rich.cells import cell_len, set_cell_size
from rich.text import Text

from voicejudge.app.terminal import printable
from voicejudge.app.trace_views import MIN_OP_WIDTH, STATUS_STYLES, cut, latency, short_op
from voicejudge.tracking.browse import CallDetail, CallSummary, FeedbackItem, error_summary

WEAVE_INTERNAL_KEYS = frozenset({"_type", "_class_name", "_bases"})
SHOWN_KEYS = 16
SHOWN_FEEDBACK = 6
SHOWN_CHILD_OPS = 8
SHOWN_CHILD_IDS = 3


def call_lines(detail: CallDetail, width: int, refs: Mapping[str, str]) -> list[Text]:
    """One call on about a screen: ids whole, inputs and output one line per key, feedback in
    two lines per item, children counted by op with their first ids."""
    call = detail.call
    title = Text(printable(call.op), style="bold")
    if call.display_name:
        title.append(f"  {printable(call.display_name)}")
    title.append("  ")
    title.append(printable(call.status), style=STATUS_STYLES.get(call.status, "cyan"))
    title.append(f"  {latency(call.latency_ms)}")
    lines = [title]
    started = call.started_at.astimezone().strftime("%Y-%m-%d %H:%M:%S")
    for label, value in (
        ("call id", call.id),
        ("trace id", detail.trace_id),
        ("parent", detail.parent_id or "-"),
        ("started", started),
    ):
        lines.append(Text(f"{label:9} ") + Text(printable(value), style="cyan"))
    if detail.exception:
        summary = printable(error_summary(detail.exception) or "")
        for part in textwrap.wrap(summary, max(20, width - 10))[:3]:
            lines.append(Text(f"{'error':9} ") + Text(part, style="red"))
    lines += _section("inputs", detail.inputs, width, refs)
    if not detail.exception or detail.output is not None:
        lines += _section("output", detail.output, width, refs)
    lines.append(Text(f"feedback ({len(detail.feedback)})", style="bold"))
    for item in detail.feedback[:SHOWN_FEEDBACK]:
        lines += _feedback_lines(item, width, refs)
    if len(detail.feedback) > SHOWN_FEEDBACK:
        lines.append(Text(f"  … {len(detail.feedback) - SHOWN_FEEDBACK} more", style="dim"))
    lines.append(Text(f"children ({len(detail.children)})", style="bold"))
    lines += _children_lines(detail.children, width)
    lines.append(Text("Every field and child: voicejudge traces show CALL_ID --json", "dim"))
    return lines


def _section(name: str, value: Any, width: int, refs: Mapping[str, str]) -> list[Text]:
    heading = Text(name, style="bold")
    if isinstance(value, dict):
        kind = value.get("_class_name") or value.get("_type")
        if isinstance(kind, str):
            heading.append(f"  {printable(kind)}", style="dim")
        fields = _visible(value)
        if not fields:
            heading.append("  none", style="dim")
        return [heading, *_fields(fields, width, refs)]
    heading.append("  " + summarise(value, width - cell_len(heading.plain) - 2, refs))
    return [heading]


def _fields(fields: dict[str, Any], width: int, refs: Mapping[str, str]) -> list[Text]:
    keys = [printable(str(key)) for key in fields]
    key_width = min(max((cell_len(k) for k in keys), default=0), 24)
    lines = []
    for key, value in list(zip(keys, fields.values(), strict=True))[:SHOWN_KEYS]:
        budget = width - key_width - 4
        lines.append(
            Text("  ")
            + Text(set_cell_size(cut(key, key_width), key_width), style="cyan")
            + Text("  " + summarise(value, budget, refs))
        )
    if len(fields) > SHOWN_KEYS:
        lines.append(Text(f"  … {len(fields) - SHOWN_KEYS} more keys", style="dim"))
    return lines


def summarise(value: Any, budget: int, refs: Mapping[str, str]) -> str:
    """`value` on one line of at most `budget` cells: scalars as they are, refs as their short
    label, long text cut with its length, lists and objects by count and first items."""
    budget = max(budget, 8)
    if isinstance(value, str):
        if value in refs:
            return cut(printable(refs[value]), budget)
        text = printable(value)
        if cell_len(text) <= budget:
            return text
        length = f"… ({len(value)} chars)"
        if budget - len(length) < 8:
            return cut(text, budget)
        return set_cell_size(text, budget - len(length)).rstrip() + length
    if value is None or isinstance(value, bool):
        return {None: "null", True: "true", False: "false"}[value]
    if isinstance(value, float):
        text = repr(value)
        return cut(text if len(text) <= 10 else format(value, ".6g"), budget)
    if isinstance(value, dict):
        if value.get("_type") == "CustomWeaveType":
            kind = str((value.get("weave_type") or {}).get("type", "object")).rsplit(".", 1)[-1]
            return cut(f"<{printable(kind)}>", budget)
        items = (
            f"{printable(str(k))}: {summarise(v, budget, refs)}" for k, v in _visible(value).items()
        )
        return _joined("{", items, "}", budget, None)
    if isinstance(value, list | tuple):
        items = (summarise(v, budget, refs) for v in value)
        return _joined("[", items, "]", budget, len(value))
    return cut(printable(str(value)), budget)


def _joined(
    opening: str, items: Iterator[str], closing: str, budget: int, count: int | None
) -> str:
    shown: list[str] = []
    length = 2
    for item in items:
        shown.append(item)
        length += cell_len(item) + 2
        if length > budget:
            break
    else:
        return opening + ", ".join(shown) + closing
    prefix = f"{count} items: " if count is not None else ""
    return prefix + cut(opening + ", ".join(shown), budget - len(prefix))


def _visible(value: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in value.items() if k not in WEAVE_INTERNAL_KEYS}


def _feedback_lines(item: FeedbackItem, width: int, refs: Mapping[str, str]) -> list[Text]:
    kind = item.feedback_type.removeprefix("wandb.annotation.")
    if kind.startswith("wandb.note."):
        kind = "note"
    by = f" by {item.creator}" if item.creator else ""
    when = item.created_at.astimezone().strftime("%m-%d %H:%M")
    header = Text("  ") + Text(printable(kind), style="cyan") + Text(printable(by) + f"  {when}")
    payload = item.payload
    if set(payload) == {"value"}:
        payload = payload["value"]
    if isinstance(payload, dict):
        shown = {k: v for k, v in _visible(payload).items() if v not in (None, "", [], {})}
        parts = [f"{printable(str(k))}: {summarise(v, 28, refs)}" for k, v in shown.items()]
        body = " · ".join(parts)
    else:
        body = summarise(payload, width - 4, refs)
    return [header, Text("    " + cut(body, width - 4))]


def _children_lines(children: Sequence[CallSummary], width: int) -> list[Text]:
    groups: dict[str, list[CallSummary]] = {}
    for child in children:
        groups.setdefault(child.op, []).append(child)
    counts = {}
    for op, calls in groups.items():
        failed = sum(c.status == "error" for c in calls)
        counts[op] = f" ×{len(calls)}" + (f" ({failed} failed)" if failed else "")
    id_width = max((cell_len(c.id) for c in children), default=0)
    natural = max((cell_len(printable(op)) + len(n) for op, n in counts.items()), default=0)
    label_width = max(MIN_OP_WIDTH, min(natural, width - id_width - 14))
    lines = []
    for op, calls in list(groups.items())[:SHOWN_CHILD_OPS]:
        label = short_op(printable(op), label_width - len(counts[op])) + counts[op]
        label = set_cell_size(label, label_width)
        for number, call in enumerate(calls[:SHOWN_CHILD_IDS]):
            line = Text("  " + (label if number == 0 else " " * label_width) + "  ")
            line.append(printable(call.id), style="cyan")
            if number == SHOWN_CHILD_IDS - 1 and len(calls) > SHOWN_CHILD_IDS:
                line.append(f"  +{len(calls) - SHOWN_CHILD_IDS} more", style="dim")
            lines.append(line)
    if len(groups) > SHOWN_CHILD_OPS:
        lines.append(Text(f"  … {len(groups) - SHOWN_CHILD_OPS} more ops", style="dim"))
    return lines


__all__ = ["call_lines", "summarise"]
