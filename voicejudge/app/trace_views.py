"""What `voicejudge traces` prints: calls and objects, readable at 80 columns.

Pure functions from the `browse` models to lines of rich `Text`. Columns are chosen and cut to
the terminal's width and call ids are never cut; one call is `call_view`. Stored text is shown
through `printable`, so it cannot drive the terminal.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from rich.cells import cell_len, set_cell_size
from rich.text import Text

from voicejudge.app.terminal import printable
from voicejudge.tracking.browse import (
    CallSummary,
    ObjectSummary,
)

ELLIPSIS = "…"
STATUS_STYLES = {"success": "green", "error": "red", "descendant_error": "yellow"}
SHORT_STATUS = {"descendant_error": "child error"}  # weave's name takes 16 of the 80 cells
MIN_OP_WIDTH = 12
MIN_ERROR_WIDTH = 16


@dataclass(frozen=True)
class Column:
    """One column of a listing: `min_width` None means its cells are never cut; columns with a
    `drop_rank` are left out, lowest rank first, when the width is short."""

    header: str
    cells: list[str]
    styles: list[str] | None = None
    right: bool = False
    min_width: int | None = None
    drop_rank: int | None = None
    cut: Callable[[str, int], str] | None = None

    @property
    def natural(self) -> int:
        return max([cell_len(self.header), *(cell_len(cell) for cell in self.cells)])

    @property
    def narrowest(self) -> int:
        if self.min_width is None:
            return self.natural
        return min(self.natural, max(self.min_width, cell_len(self.header)))

    @property
    def gap(self) -> int:
        return 1 if self.right else 2


@dataclass(frozen=True)
class Listing:
    """Columns laid out for a width, and whether anything was cut or left out to fit."""

    columns: list[Column]
    widths: list[int]
    shortened: bool

    def header(self) -> Text:
        return self._line([c.header for c in self.columns], ["bold"] * len(self.columns))

    def row(self, index: int) -> Text:
        return self._line(
            [c.cells[index] for c in self.columns],
            [c.styles[index] if c.styles else "" for c in self.columns],
        )

    def _line(self, cells: list[str], styles: list[str]) -> Text:
        line = Text()
        for number, (column, width, cell, style) in enumerate(
            zip(self.columns, self.widths, cells, styles, strict=True)
        ):
            if number:
                line.append(" " * column.gap)
            shown = (column.cut or cut)(cell, width) if cell_len(cell) > width else cell
            padding = " " * (width - cell_len(shown))
            line.append(padding if column.right else "")
            line.append(shown, style=style)
            line.append("" if column.right else padding)
        line.rstrip()
        return line


def lay_out(columns: list[Column], width: int | None) -> Listing:
    """Fit `columns` into `width` cells (None: every column whole): leave out droppable
    columns until the narrowest layout fits, then widen cut columns left to right."""
    if width is None:
        return Listing(columns, [c.natural for c in columns], shortened=False)
    kept = list(columns)

    def needed(chosen: list[Column]) -> int:
        return sum(c.narrowest + c.gap for c in chosen) - chosen[0].gap

    for column in sorted((c for c in columns if c.drop_rank), key=lambda c: c.drop_rank or 0):
        if needed(kept) <= width:
            break
        kept.remove(column)
    widths = [c.narrowest for c in kept]
    spare = width - needed(kept)
    for index, column in enumerate(kept):
        grow = max(0, min(spare, column.natural - widths[index]))
        widths[index] += grow
        spare -= grow
    cut_any = any(w < c.natural for c, w in zip(kept, widths, strict=True))
    return Listing(kept, widths, shortened=cut_any or len(kept) < len(columns))


def calls_lines(calls: Sequence[CallSummary], width: int, *, wide: bool = False) -> list[Text]:
    """The recent-calls table: call id, started, op, status, latency, feedback and error; an
    error that has no room for a column goes on the line under its call."""
    today = dt.datetime.now().astimezone().date()
    ops = [printable(c.op) for c in calls]
    columns = [
        Column("call id", [printable(c.id) for c in calls], styles=["cyan"] * len(calls)),
        Column(
            "started",
            [_started(c.started_at, today, wide) for c in calls],
            styles=["dim"] * len(calls),
            drop_rank=1,
        ),
        Column("op", ops, min_width=MIN_OP_WIDTH, cut=short_op),
    ]
    if wide and any(c.display_name for c in calls):
        columns.append(Column("name", [printable(c.display_name or "") for c in calls]))
    columns += [
        Column(
            "status",
            [printable(c.status if wide else SHORT_STATUS.get(c.status, c.status)) for c in calls],
            styles=[STATUS_STYLES.get(c.status, "cyan") for c in calls],
        ),
        Column("latency", [latency(c.latency_ms) for c in calls], right=True),
        Column("feedback", [str(c.feedback_count or "") for c in calls], right=True),
    ]
    errors = [printable(c.error or "") for c in calls]
    error_column = Column(
        "error", errors, styles=["red"] * len(calls), min_width=MIN_ERROR_WIDTH, drop_rank=2
    )
    if any(errors):
        columns.append(error_column)
    listing = lay_out(columns, None if wide else width)
    errors_below = any(errors) and error_column not in listing.columns
    lines = [Text(f"{len(calls)} most recent calls", style="bold"), listing.header()]
    for index, error in enumerate(errors):
        lines.append(listing.row(index))
        if errors_below and error:
            lines.append(Text("  ↳ " + cut(error, width - 4), style="red"))
    lines.append(_footer(listing.shortened and not wide))
    return lines


def objects_lines(
    objects: Sequence[ObjectSummary], width: int, *, show_internal: bool, wide: bool = False
) -> list[Text]:
    """Published objects, named ones first; internal ones (ops, objects named after their
    class) only with `show_internal`, else a footer says how many are hidden."""
    shown = [o for o in objects if show_internal or not o.internal]
    hidden = len(objects) - len(shown)
    lines = [Text(f"{len(shown)} published objects", style="bold")]
    if shown:
        today = dt.datetime.now().astimezone().date()
        columns = [
            Column("name", [printable(o.name) for o in shown], styles=["bold"] * len(shown)),
            Column("class", [printable(o.object_class or o.kind) for o in shown], min_width=10),
            Column("versions", [str(o.versions) for o in shown], right=True),
            Column("latest", [f"v{o.latest_version}" for o in shown]),
            Column(
                "updated",
                [_started(o.updated_at, today, wide) for o in shown],
                styles=["dim"] * len(shown),
                drop_rank=2,
            ),
            Column(
                "digest",
                [o.latest_digest if wide else o.latest_digest[:12] for o in shown],
                styles=["dim"] * len(shown),
                drop_rank=1,
            ),
        ]
        listing = lay_out(columns, None if wide else width)
        lines.append(listing.header())
        for index, obj in enumerate(shown):
            if obj.internal and (index == 0 or not shown[index - 1].internal):
                lines.append(Text("internal: ops and objects named after their class", "dim"))
            lines.append(listing.row(index))
        if listing.shortened and not wide:
            lines.append(Text("Cut to fit: --wide shows all.", "dim"))
    if hidden:
        lines.append(Text(f"{hidden} internal ops and objects hidden; --all lists them.", "dim"))
    return lines


def short_op(op: str, width: int) -> str:
    """`op` in `width` cells: a method keeps its name and cuts its class
    (`AgreementSc….score`), or shows the method alone when the class has no room."""
    if cell_len(op) <= width:
        return op
    owner, dot, method = op.rpartition(".")
    room = width - cell_len(method) - 1
    if dot and room >= 8:
        return cut(owner, room) + "." + method
    return cut(method or op, width)


def latency(ms: int | None) -> str:
    """Milliseconds as a person reads them: `340 ms`, `1.2 s`, `12 s`, `2.5 min`."""
    if ms is None:
        return "-"
    if ms < 1000:
        return f"{ms} ms"
    if round(ms / 100) < 100:
        return f"{ms / 1000:.1f} s"
    if round(ms / 1000) < 60:
        return f"{ms / 1000:.0f} s"
    if round(ms / 6000) < 600:
        return f"{ms / 60000:.1f} min"
    return f"{ms / 3600000:.1f} h"


def cut(text: str, width: int) -> str:
    """`text` in at most `width` cells, ending in an ellipsis when it was longer."""
    if cell_len(text) <= width:
        return text
    return set_cell_size(text, max(0, width - 1)).rstrip().removesuffix(ELLIPSIS) + ELLIPSIS


def _started(when: dt.datetime, today: dt.date, wide: bool) -> str:
    local = when.astimezone()
    if wide:
        return local.strftime("%Y-%m-%d %H:%M:%S")
    return local.strftime("%H:%M:%S" if local.date() == today else "%m-%d %H:%M")


def _footer(shortened: bool) -> Text:
    hint = "One call: voicejudge traces show CALL_ID."
    return Text(hint + (" Cut to fit: --wide shows all." if shortened else ""), "dim")


__all__ = [
    "Column",
    "Listing",
    "calls_lines",
    "cut",
    "latency",
    "lay_out",
    "objects_lines",
    "short_op",
]
