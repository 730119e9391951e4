"""Weave's `$expr` query language, evaluated over rows, plus the part of it SQL can do first.

Semantics follow the hosted server closely enough for the client's own queries: values read
from JSON compare as numbers when both sides are numbers and as strings otherwise, unless a
`$convert` says what they are.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from weave.trace.errors import InvalidRequest

Row = Mapping[str, Any]


def get_field(row: Row, path: str) -> Any:
    """Read a dotted path such as `inputs.sample.id` or `summary.weave.status` from a row."""
    if path in row:
        return row[path]
    value: Any = row
    for part in path.split("."):
        if isinstance(value, Mapping):
            value = value.get(part)
        elif isinstance(value, list) and part.isdigit() and int(part) < len(value):
            value = value[int(part)]
        else:
            return None
    return value


def matches(query: Mapping[str, Any] | None, row: Row) -> bool:
    """Whether a row satisfies a `{"$expr": ...}` query (no query matches everything)."""
    if not query:
        return True
    expr = query.get("$expr") if "$expr" in query else query.get("expr")
    if expr is None:
        return True
    return bool(_evaluate(expr, row))


def _evaluate(operation: Any, row: Row) -> Any:
    if not isinstance(operation, Mapping) or len(operation) != 1:
        raise InvalidRequest(f"Not a query operation: {operation!r}")
    ((name, arg),) = operation.items()
    handler = _OPERATIONS.get(name)
    if handler is None:
        raise InvalidRequest(f"Unsupported query operation {name!r}")
    return handler(arg, row)


def _operand(value: Any, row: Row) -> Any:
    return _evaluate(value, row)


def _comparable(left: Any, right: Any) -> tuple[Any, Any] | None:
    if left is None or right is None:
        return None
    if _is_number(left) and _is_number(right):
        return left, right
    return _as_text(left), _as_text(right)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _as_text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if _is_number(value):
        return repr(value)
    return json.dumps(value, sort_keys=True)


def _compare(test: Callable[[Any, Any], bool]) -> Callable[[Any, Row], bool]:
    def run(arg: Sequence[Any], row: Row) -> bool:
        left, right = (_operand(item, row) for item in arg)
        pair = _comparable(left, right)
        return pair is not None and test(*pair)

    return run


def _eq(arg: Sequence[Any], row: Row) -> bool:
    left, right = (_operand(item, row) for item in arg)
    if left is None or right is None:
        return left is None and right is None
    pair = _comparable(left, right)
    return pair is not None and pair[0] == pair[1]


def _in(arg: Sequence[Any], row: Row) -> bool:
    needle, haystack = arg
    value = _operand(needle, row)
    return any(_eq([{"$literal": value}, candidate], row) for candidate in haystack)


def _contains(arg: Mapping[str, Any], row: Row) -> bool:
    text = _operand(arg["input"], row)
    part = _operand(arg["substr"], row)
    if text is None or part is None:
        return False
    text, part = _as_text(text), _as_text(part)
    if arg.get("case_insensitive"):
        return part.lower() in text.lower()
    return part in text


def _convert(arg: Mapping[str, Any], row: Row) -> Any:
    value = _operand(arg["input"], row)
    target = arg["to"]
    if target == "exists":
        return value is not None
    if value is None:
        return None
    try:
        if target == "int":
            return int(float(value))
        if target == "double":
            return float(value)
        if target == "bool":
            return value if isinstance(value, bool) else _as_text(value).lower() == "true"
        if target == "string":
            return _as_text(value)
    except (TypeError, ValueError):
        return None
    raise InvalidRequest(f"Unsupported $convert target {target!r}")


_OPERATIONS: dict[str, Callable[[Any, Row], Any]] = {
    "$literal": lambda arg, row: arg,
    "$getField": lambda arg, row: get_field(row, arg),
    "$and": lambda arg, row: all(_evaluate(item, row) for item in arg),
    "$or": lambda arg, row: any(_evaluate(item, row) for item in arg),
    "$not": lambda arg, row: not _evaluate(arg[0], row),
    "$eq": _eq,
    "$gt": _compare(lambda a, b: a > b),
    "$gte": _compare(lambda a, b: a >= b),
    "$lt": _compare(lambda a, b: a < b),
    "$lte": _compare(lambda a, b: a <= b),
    "$in": _in,
    "$contains": _contains,
    "$convert": _convert,
}


def sql_prefilter(
    query: Mapping[str, Any] | None, columns: Mapping[str, str]
) -> tuple[list[str], list[Any]]:
    """SQL conditions implied by a query's top-level `$eq`/`$in` on plain columns.

    `columns` maps query field names to SQL column names. The conditions only narrow the rows;
    the full query is still evaluated on what SQL returns.
    """
    if not query:
        return [], []
    expr = query.get("$expr") if "$expr" in query else query.get("expr")
    terms = expr.get("$and", [expr]) if isinstance(expr, Mapping) else []
    clauses: list[str] = []
    params: list[Any] = []
    for term in terms:
        condition = _plain_condition(term, columns)
        if condition:
            clauses.append(condition[0])
            params.extend(condition[1])
    return clauses, params


def _plain_condition(term: Any, columns: Mapping[str, str]) -> tuple[str, list[Any]] | None:
    if not isinstance(term, Mapping) or len(term) != 1:
        return None
    ((name, arg),) = term.items()
    if name == "$eq":
        field, literal = _field_and_literals(arg[0], [arg[1]], columns)
        if field and literal is not None and len(literal) == 1:
            return f"{field} = ?", literal
    if name == "$in":
        field, literals = _field_and_literals(arg[0], list(arg[1]), columns)
        if field and literals:
            return f"{field} IN ({', '.join('?' * len(literals))})", literals
    return None


def _field_and_literals(
    left: Any, right: Iterable[Any], columns: Mapping[str, str]
) -> tuple[str | None, list[Any] | None]:
    if not isinstance(left, Mapping) or set(left) != {"$getField"}:
        return None, None
    column = columns.get(left["$getField"])
    literals: list[Any] = []
    for item in right:
        if not isinstance(item, Mapping) or set(item) != {"$literal"}:
            return None, None
        if not isinstance(item["$literal"], str):
            return None, None
        literals.append(item["$literal"])
    return column, literals


def sort_rows(rows: list[dict[str, Any]], sort_by: Iterable[Mapping[str, str]] | None) -> None:
    """Sort rows in place by several dotted fields; missing values sort last either way."""
    for spec in reversed(list(sort_by or [])):
        field, descending = spec["field"], spec.get("direction", "asc") == "desc"
        present = [r for r in rows if get_field(r, field) is not None]
        missing = [r for r in rows if get_field(r, field) is None]
        present.sort(key=functools.partial(_field_sort_key, field), reverse=descending)
        rows[:] = present + missing


def _field_sort_key(field: str, row: dict[str, Any]) -> tuple[int, Any]:
    return _sort_key(get_field(row, field))


def _sort_key(value: Any) -> tuple[int, Any]:
    if _is_number(value):
        return (0, value)
    return (1, _as_text(value))
