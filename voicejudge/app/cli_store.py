"""The commands over the machine and the trace store: `doctor`, `backup`, `lineage` and the
`traces` views (list, show, objects)."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

from rich.table import Table

from voicejudge.app.cli_common import at_least, err, out, print_json, safe
from voicejudge.app.terminal import printable
from voicejudge.errors import ConfigError

if TYPE_CHECKING:
    from weave.trace.weave_client import WeaveClient


def _client(args: argparse.Namespace) -> WeaveClient:
    from voicejudge.tracking import init_tracking

    return init_tracking(project=args.project, backend=args.backend)


def doctor_command(args: argparse.Namespace) -> int:
    from voicejudge.app.doctor import run_checks
    from voicejudge.settings import load_settings

    results = run_checks(load_settings())
    marks = {
        "ok": "[green]ok[/]",
        "info": "[cyan]--[/]",
        "warn": "[yellow]warn[/]",
        "fail": "[bold red]FAIL[/]",
    }
    table = Table(show_header=False, box=None, pad_edge=False)
    for result in results:
        table.add_row(marks[result.status], result.name, safe(result.detail))
    out.print(table)
    failed = [r.name for r in results if r.status == "fail"]
    if failed:
        err.print(f"[bold red]{len(failed)} check(s) failed:[/] {', '.join(failed)}")
        return 1
    warned = [r.name for r in results if r.status == "warn"]
    out.print("All checks passed" + (f" ({len(warned)} warning(s))." if warned else "."))
    return 0


def backup_command(args: argparse.Namespace) -> int:
    from voicejudge.settings import load_settings
    from voicejudge.tracking.store import backup_store

    target = args.target
    if target.is_dir():
        target = target / "traces.db"
    if target.exists() and not args.force:
        raise ConfigError(f"{target} exists: choose another name, or add --force to replace it.")
    if not target.parent.is_dir():
        raise ConfigError(f"{target.parent}: no such folder.")
    source = load_settings().store_path.expanduser().resolve()
    if not source.is_file():
        raise ConfigError(f"There is no trace store at {source} to back up.")
    backup_store(source, target)
    out.print(f"Backed up {safe(source)} to {safe(target)}", highlight=False, soft_wrap=True)
    return 0


def lineage_command(args: argparse.Namespace) -> int:
    from rich.text import Text
    from rich.tree import Tree

    from voicejudge.loop.lineage import lineage
    from voicejudge.tracking import init_tracking
    from voicejudge.tracking.refs import REF_PREFIX, project_of

    project = args.project
    if project is None and args.ref.startswith(REF_PREFIX):
        project = project_of(args.ref)
    tree = lineage(args.ref, init_tracking(project=project, backend=args.backend))
    if args.json:
        print_json(tree.model_dump(mode="json"))
        return 0

    def label(text: str) -> Text:
        return Text(printable(text), overflow="fold")  # wrap, never crop: ids stay whole

    def add(branch: Any, node: Any) -> None:
        for child in node.children:
            add(branch.add(label(child.label), highlight=False), child)

    root = Tree(label(tree.label), highlight=False)
    add(root, tree)
    out.print(root)
    return 0


def traces_list_command(args: argparse.Namespace) -> int:
    from voicejudge.app.trace_views import calls_lines
    from voicejudge.tracking.browse import recent_calls

    calls = recent_calls(_client(args), limit=at_least(args.limit, 1, "--limit"), op=args.op)
    if args.json:
        print_json([c.model_dump(mode="json") for c in calls])
        return 0
    if not calls and args.op:
        out.print(
            f"No calls of op {safe(args.op)!r}: give the op's full name as `voicejudge traces` "
            "lists it (for example AlignmentLoop.run_round).",
            highlight=False,
        )
        return 0
    if not calls:
        out.print("No traced calls yet.")
        return 0
    _print_lines(calls_lines(calls, out.width, wide=args.wide), wide=args.wide)
    return 0


def traces_show_command(args: argparse.Namespace) -> int:
    from voicejudge.app.call_view import call_lines
    from voicejudge.tracking.browse import call_detail, ref_labels

    client = _client(args)
    detail = call_detail(client, args.call_id)
    if args.json:
        print_json(detail.model_dump(mode="json"))
        return 0
    refs = ref_labels(client, detail.inputs, detail.output, [f.payload for f in detail.feedback])
    _print_lines(call_lines(detail, out.width, refs), wide=False)
    return 0


def traces_objects_command(args: argparse.Namespace) -> int:
    from voicejudge.app.trace_views import objects_lines
    from voicejudge.tracking.browse import object_versions

    objects = object_versions(_client(args))
    if args.json:
        print_json([o.model_dump(mode="json") for o in objects if args.all or not o.internal])
        return 0
    if not objects:
        out.print("No published objects yet.")
        return 0
    _print_lines(
        objects_lines(objects, out.width, show_internal=args.all, wide=args.wide), args.wide
    )
    return 0


def _print_lines(lines: list[Any], wide: bool) -> None:
    """Lines of a trace view, as laid out: wide ones are left to the terminal to wrap."""
    for line in lines:
        out.print(line, soft_wrap=wide, crop=not wide)
