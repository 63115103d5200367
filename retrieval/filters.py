"""Chroma-style `where` filters: normalised once, evaluated in Python for the in-memory store.

Callers may write ``{"job": "j1", "tenant": "t"}``; Chroma wants exactly one key per
level, so :func:`normalize_where` rewrites that into ``{"$and": [...]}`` for every store.
Missing keys match ``$ne`` and ``$nin`` (as in Chroma) and nothing else.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from retrieval.errors import InvalidFilterError

_COMPARE: dict[str, Callable[[Any, Any], bool]] = {
    "$eq": lambda a, b: a == b,
    "$ne": lambda a, b: a != b,
    "$gt": lambda a, b: a > b,
    "$gte": lambda a, b: a >= b,
    "$lt": lambda a, b: a < b,
    "$lte": lambda a, b: a <= b,
    "$in": lambda a, b: a in b,
    "$nin": lambda a, b: a not in b,
}
_LOGICAL = ("$and", "$or")
_SCALARS = (str, int, float, bool)


def normalize_where(where: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """Validate a filter and return the one-key-per-level form Chroma accepts.

    Raises:
        InvalidFilterError: an unknown operator, an empty list, or a non-scalar value.
    """
    if not where:
        return None
    clauses = [_normalize_clause(key, value) for key, value in where.items()]
    return clauses[0] if len(clauses) == 1 else {"$and": clauses}


def _normalize_clause(key: str, value: Any) -> dict[str, Any]:
    if key in _LOGICAL:
        if not isinstance(value, list) or not value:
            raise InvalidFilterError(f"'{key}' needs a non-empty list of filters, got {value!r}.")
        parts = [normalize_where(part) for part in value]
        if any(p is None for p in parts):
            raise InvalidFilterError(f"'{key}' contains an empty filter.")
        return {key: parts} if len(parts) > 1 else parts[0]  # type: ignore[return-value]
    if key.startswith("$"):
        raise InvalidFilterError(f"Unknown logical operator '{key}'. Use $and or $or.")
    if isinstance(value, Mapping):
        if len(value) != 1:
            raise InvalidFilterError(f"Filter on '{key}' needs exactly one operator: {value!r}.")
        op, operand = next(iter(value.items()))
        _check_operand(key, op, operand)
        return {key: {op: operand}}
    _check_operand(key, "$eq", value)
    return {key: value}


def _check_operand(key: str, op: str, operand: Any) -> None:
    if op not in _COMPARE:
        raise InvalidFilterError(f"Unknown operator '{op}' on '{key}'. Use one of {list(_COMPARE)}.")
    if op in ("$in", "$nin"):
        if not isinstance(operand, list) or not operand:
            raise InvalidFilterError(f"'{op}' on '{key}' needs a non-empty list.")
        if any(not isinstance(v, _SCALARS) for v in operand):
            raise InvalidFilterError(f"'{op}' on '{key}' accepts str, int, float or bool values.")
    elif not isinstance(operand, _SCALARS):
        raise InvalidFilterError(f"'{op}' on '{key}' accepts a str, int, float or bool value.")


def matches(metadata: Mapping[str, Any], where: Mapping[str, Any] | None) -> bool:
    """True when `metadata` satisfies a filter already passed through `normalize_where`."""
    if not where:
        return True
    key, value = next(iter(where.items()))
    if key == "$and":
        return all(matches(metadata, part) for part in value)
    if key == "$or":
        return any(matches(metadata, part) for part in value)
    op, operand = next(iter(value.items())) if isinstance(value, Mapping) else ("$eq", value)
    if key not in metadata:
        return op in ("$ne", "$nin")
    actual = metadata[key]
    if op in ("$gt", "$gte", "$lt", "$lte") and not _comparable(actual, operand):
        return False
    return _COMPARE[op](actual, operand)


def _comparable(a: Any, b: Any) -> bool:
    numeric = (int, float)
    if isinstance(a, bool) or isinstance(b, bool):
        return False
    return isinstance(a, numeric) and isinstance(b, numeric)
