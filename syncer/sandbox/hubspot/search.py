"""CRM search for the HubSpot simulator: filters, one sort, offset paging and the result window.

Where HubSpot's docs are silent or disagree, the simulator chooses (reference §3 and §11):

- filter limits are the current docs': at most 5 groups, 6 filters per group, 18 in all;
- the result window: a page whose ``after + limit`` exceeds ``search_cap`` (10,000) is a 400
  ``VALIDATION_ERROR`` whose message starts "Paging past the search result window";
  ``paging.next`` is still offered up to the cap's edge and beyond, as HubSpot does;
- ``total`` never says more than ``search_total_cap`` (10,000; ``0`` reports the true count):
  a query matching more reports 10,000, as integrators have recorded (reference §12.3,
  dust-tt/dust ``hubspot_api_helper.ts`` ``MAX_COUNT_LIMIT``), while ``paging.next`` follows
  the true count; a client must not end its walk because it has seen ``total`` records;
- ``NEQ``, ``NOT_IN`` and ``NOT_CONTAINS_TOKEN`` also match contacts that have no value;
- ``CONTAINS_TOKEN`` matches the whole value or one of its tokens (split on whitespace, ``;`` and
  ``,``); ``*`` is a wildcard;
- date and datetime filter values may be epoch milliseconds or ISO 8601;
- string comparisons ignore case, except ``IN``/``NOT_IN`` which need lowercase values (as the
  docs say) and enumerations, which are case-sensitive everywhere;
- a filter on a name that is not a property behaves as if the value were empty;
- sorting puts contacts without a value last, and breaks ties by id ascending;
- ``query`` matches when every word occurs (case-insensitively) in a default searchable field.

Speed: the ordered, filtered list for one query shape is cached until the store changes (or, with
an index lag, until a pending write becomes visible), so paging through 100,000 contacts scans
them once, not once per page. A query whose filters only bound the intrinsic property it sorts by
(``hs_object_id LT x`` sorted by id, a ``lastmodifieddate`` range sorted by it) answers a slice of
the cached list sorted by that property, found by bisection: a keyset walk, whose bound changes
with every page, scans the store once too (the same records in the same order as filtering).
``SearchIndex.work`` counts what was scanned, sorted and rendered, so a test bounds the work
instead of timing it.
"""

from __future__ import annotations

import bisect
import json
import operator
import random
import re
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from operator import attrgetter
from typing import Any

from syncer.sandbox.hubspot.errors import api_error
from syncer.sandbox.hubspot.props import (
    NUMERIC_TYPES,
    PropertyDef,
    filter_number,
    stored_number,
)
from syncer.sandbox.hubspot.store import ContactStore, Record
from syncer.sandbox.hubspot.wire import names_param, render

Predicate = Callable[[Record], bool]
SortKey = Callable[[Record], Any]

MAX_GROUPS, MAX_PER_GROUP, MAX_FILTERS = 5, 6, 18
MAX_LIMIT = 200
MAX_QUERY = 3000
SEARCHABLE = (
    "firstname",
    "lastname",
    "email",
    "phone",
    "hs_additional_emails",
    "fax",
    "mobilephone",
    "company",
    "hs_marketable_until_renewal",
)
OPERATORS = frozenset(
    {"EQ", "NEQ", "LT", "LTE", "GT", "GTE", "BETWEEN", "IN", "NOT_IN"}
    | {"HAS_PROPERTY", "NOT_HAS_PROPERTY", "CONTAINS_TOKEN", "NOT_CONTAINS_TOKEN"}
)
_COMPARE: dict[str, Callable[[Any, Any], bool]] = {
    "EQ": operator.eq,
    "NEQ": operator.eq,
    "LT": operator.lt,
    "LTE": operator.le,
    "GT": operator.gt,
    "GTE": operator.ge,
}
_NEGATED = {"NEQ": "EQ", "NOT_IN": "IN", "NOT_CONTAINS_TOKEN": "CONTAINS_TOKEN"}
_INTRINSIC: dict[str, SortKey] = {
    "createdate": attrgetter("created"),
    "lastmodifieddate": attrgetter("updated"),
    "hs_object_id": attrgetter("id"),
}
_TOKEN_SPLIT = re.compile(r"[\s;,]+")
_CACHE_SIZE = 16


def _invalid(message: str) -> Exception:
    return api_error(400, "VALIDATION_ERROR", message)


@dataclass(frozen=True)
class Search:
    """One parsed search request; ``shape`` identifies its result list for the cache."""

    shape: str
    match: Predicate | None
    sort_key: SortKey
    descending: bool
    names: list[str] | None
    limit: int
    after: int
    #: ``(operator, value)`` pairs that are all the filters, each on the sorted-by intrinsic
    #: property: the results are then a slice of the unfiltered order (``shape`` has no filters).
    bounds: tuple[tuple[str, Any], ...] = ()


def parse(body: Any, properties: Mapping[str, PropertyDef], cap: int) -> Search:
    if not isinstance(body, dict):
        raise _invalid("Invalid input JSON: expected an object")
    groups = body.get("filterGroups") or []
    filters = [f for group in groups for f in (group or {}).get("filters") or []]
    if len(groups) > MAX_GROUPS:
        raise _invalid(f"Too many filter groups ({len(groups)}); the maximum is {MAX_GROUPS}.")
    if any(len((group or {}).get("filters") or []) > MAX_PER_GROUP for group in groups):
        raise _invalid(f"Too many filters in a group; the maximum is {MAX_PER_GROUP}.")
    if len(filters) > MAX_FILTERS:
        raise _invalid(f"Too many filters ({len(filters)}); the maximum is {MAX_FILTERS}.")
    sorts = body.get("sorts") or []
    if len(sorts) > 1:
        raise _invalid("Only one sort is supported per search.")
    query = str(body.get("query") or "")
    if len(query) > MAX_QUERY:
        raise _invalid(f"The query is longer than {MAX_QUERY} characters.")
    limit, after = _number(body.get("limit", 10), "limit"), _number(body.get("after") or 0, "after")
    if not 1 <= limit <= MAX_LIMIT:
        raise _invalid(f"limit must be between 1 and {MAX_LIMIT}, got {limit}.")
    if after + limit > cap:
        raise _invalid(
            f"Paging past the search result window: after ({after}) + limit ({limit}) "
            f"exceeds {cap}. Narrow the filters (e.g. by lastmodifieddate) instead."
        )
    compiled = [
        [_compile(spec, properties) for spec in (group or {}).get("filters") or []]
        for group in groups
    ]
    sort_key, descending = _sort(sorts[0] if sorts else None, properties)
    bounds = _bounds_on_sort(groups, sorts, query, properties)
    return Search(
        shape=json.dumps([[] if bounds else groups, sorts, query], sort_keys=True, default=str),
        match=None if bounds else _combine(compiled, query.lower().split()),
        sort_key=sort_key,
        descending=descending,
        names=names_param(body.get("properties")),
        limit=limit,
        after=after,
        bounds=bounds,
    )


_RANGES = ("LT", "LTE", "GT", "GTE")


def _bounds_on_sort(
    groups: list[Any], sorts: list[Any], query: str, properties: Mapping[str, PropertyDef]
) -> tuple[tuple[str, Any], ...]:
    """The filters as bounds on the sorted-by property, when that is all they are."""
    sort = sorts[0] if sorts else None
    name = sort.get("propertyName") if isinstance(sort, dict) else None
    if query or len(groups) != 1 or name not in _INTRINSIC:
        return ()
    filters = (groups[0] or {}).get("filters") or []
    if not filters or any(
        not isinstance(f, dict) or f.get("propertyName") != name or f.get("operator") not in _RANGES
        for f in filters
    ):
        return ()
    prop = properties.get(name)
    kind = prop.type if prop else "string"
    return tuple((f["operator"], _operand(kind, f.get("value"))) for f in filters)


def _bounded(records: list[Record], keys: list[Any], search: Search) -> list[Record]:
    """The records (sorted, with their keys ascending) inside every bound of ``search``."""
    start, end = 0, len(records)
    for op, target in search.bounds:
        value = -target if search.descending else target
        if (op in ("GT", "GTE")) != search.descending:  # a lower bound in the list's order
            strict = op in ("GT", "LT")
            start = max(start, (bisect.bisect_right if strict else bisect.bisect_left)(keys, value))
        else:
            strict = op in ("GT", "LT")
            end = min(end, (bisect.bisect_left if strict else bisect.bisect_right)(keys, value))
    return records[start:end] if start < end else []


def _number(raw: Any, name: str) -> int:
    if isinstance(raw, bool) or not str(raw).strip().isdigit():
        raise _invalid(f"{name} must be a non-negative integer, got {raw!r}.")
    return int(raw)


def _compile(spec: Any, properties: Mapping[str, PropertyDef]) -> Predicate:
    if not isinstance(spec, dict) or not isinstance(spec.get("propertyName"), str):
        raise _invalid("Each filter needs a propertyName and an operator.")
    name, op = spec["propertyName"], spec.get("operator")
    if op not in OPERATORS:
        raise _invalid(f"Unknown filter operator {op!r} for {name}.")
    prop = properties.get(name)
    kind = prop.type if prop else "string"
    if op in _NEGATED:
        positive = _compile({**spec, "operator": _NEGATED[op]}, properties)
        return lambda record: not positive(record)
    if op == "HAS_PROPERTY":
        return lambda record: name in record.values
    if op == "NOT_HAS_PROPERTY":
        return lambda record: name not in record.values
    if op == "CONTAINS_TOKEN":
        return _tokens(name, kind, spec.get("value"))
    get = _getter(name, kind)
    if op == "IN":
        if not isinstance(spec.get("values"), list):
            raise _invalid(f"The {op} filter on {name} needs a list of values.")
        wanted = {_operand(kind, raw, fold=False) for raw in spec["values"]}
        return lambda record: get(record) in wanted
    if op == "BETWEEN":
        low, high = _operand(kind, spec.get("value")), _operand(kind, spec.get("highValue"))
        return lambda record: (value := get(record)) is not None and low <= value <= high
    compare, target = _COMPARE[op], _operand(kind, spec.get("value"))
    if name in _INTRINSIC:  # never empty: the hot path of incremental fetches
        return lambda record: compare(get(record), target)
    return lambda record: (value := get(record)) is not None and compare(value, target)


def _getter(name: str, kind: str) -> SortKey:
    """The comparable value of ``name`` in a record, or ``None`` when it has none."""
    if name in _INTRINSIC:
        return _INTRINSIC[name]
    if kind in NUMERIC_TYPES:
        return lambda r: None if (v := r.values.get(name)) is None else stored_number(kind, v)
    if kind == "enumeration":
        return lambda r: r.values.get(name)
    return lambda r: None if (v := r.values.get(name)) is None else v.lower()


def _operand(kind: str, raw: Any, *, fold: bool = True) -> Any:
    if raw is None:
        raise _invalid("A filter value is missing.")
    if kind in NUMERIC_TYPES:
        try:
            return filter_number(kind, raw)
        except ValueError:
            raise _invalid(f"{raw!r} is not a valid {kind} filter value.") from None
    text = str(raw).lower() if isinstance(raw, bool) else str(raw)
    return text.lower() if fold and kind != "enumeration" else text


def _tokens(name: str, kind: str, raw: Any) -> Predicate:
    fold = kind != "enumeration"
    pattern = str(_operand("string", raw, fold=fold))
    parts = [re.escape(part) for part in pattern.split("*")]
    regex = re.compile(".*".join(parts))
    # A value that does not even contain the pattern cannot have a token matching it.
    quick = re.compile(".*".join(part for part in parts if part))

    def matches(record: Record) -> bool:
        value = record.values.get(name)
        if value is None:
            return False
        value = value.lower() if fold else value
        if not quick.search(value):
            return False
        return bool(regex.fullmatch(value)) or any(
            regex.fullmatch(token) for token in _TOKEN_SPLIT.split(value)
        )

    return matches


def _combine(groups: list[list[Predicate]], words: list[str]) -> Predicate | None:
    """Groups are ORed, filters inside a group ANDed; the free-text query must match too."""
    if not groups and not words:
        return None
    if not words and len(groups) == 1 and len(groups[0]) == 1:
        return groups[0][0]

    def matches(record: Record) -> bool:
        if words:
            text = " ".join(record.values.get(field, "") for field in SEARCHABLE).lower()
            if not all(word in text for word in words):
                return False
        if not groups:
            return True
        for group in groups:
            for predicate in group:
                if not predicate(record):
                    break
            else:
                return True
        return False

    return matches


def _sort(spec: Any, properties: Mapping[str, PropertyDef]) -> tuple[SortKey, bool]:
    """``{propertyName, direction}``, ``"name"``/``"-name"`` or that object as a JSON string."""
    if spec is None:
        return _INTRINSIC["createdate"], False
    if isinstance(spec, str) and spec.strip().startswith("{"):
        spec = json.loads(spec)
    if isinstance(spec, str):
        name, descending = spec.strip().lstrip("-"), spec.strip().startswith("-")
    elif isinstance(spec, dict) and isinstance(spec.get("propertyName"), str):
        direction = spec.get("direction", "ASCENDING")
        if direction not in ("ASCENDING", "DESCENDING"):
            raise _invalid(f"Unknown sort direction {direction!r}.")
        name, descending = spec["propertyName"], direction == "DESCENDING"
    else:
        raise _invalid("A sort is a property name or {propertyName, direction}.")
    if name in _INTRINSIC:
        return _INTRINSIC[name], descending
    prop = properties.get(name)
    get = _getter(name, prop.type if prop else "string")

    def key(record: Record) -> tuple[bool, Any]:
        # Contacts without a value go last in either direction (DESCENDING reverses the sort).
        value = get(record)
        return (value is not None) == descending, 0 if value is None else value

    return key, descending


@dataclass
class _Entry:
    version: int
    valid_until: float
    records: list[Record]
    #: The sort key of each record, ascending (negated when descending), for ``bounds``.
    keys: list[Any] | None = None


class SearchIndex:
    """Runs searches against a store, caching each query shape's ordered result list."""

    def __init__(self) -> None:
        self._cache: dict[tuple[str, bool], _Entry] = {}
        self._ties = random.Random(0)
        #: Records scanned from the store, sorted, and rendered into pages, since the reset.
        self.work: Counter[str] = Counter()

    def run(
        self,
        store: ContactStore,
        search: Search,
        *,
        lagging: bool,
        total_cap: int = 0,
        unstable_ties: bool = False,
    ) -> dict[str, Any]:
        """One page; ``lagging`` when any write may still be unindexed, ``unstable_ties`` to
        order records with equal sort values anew for every request (supaglue #1110)."""
        records = self._results(store, search, lagging)
        if unstable_ties:
            shuffled = [(search.sort_key(r), self._ties.random(), r) for r in records]
            shuffled.sort(key=lambda item: (item[0], item[1]), reverse=search.descending)
            records = [record for _, _, record in shuffled]
        total = len(records)
        page = records[search.after : search.after + search.limit]
        self.work["rendered"] += len(page)
        body: dict[str, Any] = {
            "total": min(total, total_cap) if total_cap > 0 else total,
            "results": [
                render(record, search.names, store.properties, epoch_dates=store.epoch_dates)
                for record in page
            ],
        }
        if search.after + search.limit < total:
            body["paging"] = {"next": {"after": str(search.after + search.limit)}}
        return body

    def _results(self, store: ContactStore, search: Search, lagging: bool) -> list[Record]:
        entry = self._entry(store, search, lagging)
        if not search.bounds:
            return entry.records
        if entry.keys is None:
            sign = -1 if search.descending else 1
            entry.keys = [sign * search.sort_key(record) for record in entry.records]
        return _bounded(entry.records, entry.keys, search)

    def _entry(self, store: ContactStore, search: Search, lagging: bool) -> _Entry:
        now = store.now_ms()
        key = (search.shape, lagging)
        entry = self._cache.get(key)
        if entry and entry.version == store.version and now < entry.valid_until:
            return entry
        valid_until = float("inf")
        self.work["scanned"] += len(store.contacts)
        if not lagging:
            records = [c.state for c in store.contacts.values() if c.state.archived_at is None]
        else:
            records = []
            for contact in store.contacts.values():
                if now - contact.written_at < contact.lag:
                    valid_until = min(valid_until, contact.written_at + contact.lag)
                record = contact.visible(now)
                if record is not None and record.archived_at is None:
                    records.append(record)
        if search.match is not None:
            records = list(filter(search.match, records))
        # Stable, even reversed: ties keep id order.
        self.work["sorted"] += len(records)
        records.sort(key=search.sort_key, reverse=search.descending)
        if len(self._cache) >= _CACHE_SIZE:
            del self._cache[next(iter(self._cache))]
        self._cache[key] = entry = _Entry(store.version, valid_until, records)
        return entry
