"""Catalogue rows resolved by Kartra id, by name, or both.

Webhooks name catalogue rows by id and name; ``get_lead`` and ``retrieve_account_*`` by name
only. A row first seen by name is claimed by the first id that arrives with that name; an id
arriving with another name renames its row. Name lookups prefer rows that have an id, so the
ids learned from webhooks are kept.
"""

from collections.abc import Iterable
from typing import Any

from django.db import IntegrityError, models, transaction
from django.db.models import F

_ATTEMPTS = 3


def _retrying(fn):
    """Run ``fn`` in a savepoint, retrying when a concurrent writer won a unique race."""
    for attempt in range(_ATTEMPTS):
        try:
            with transaction.atomic():
                return fn()
        except IntegrityError:
            if attempt == _ATTEMPTS - 1:
                raise
    raise AssertionError("unreachable")


def changed_values(row: models.Model, values: dict[str, Any]) -> dict[str, Any]:
    """The non-empty ``values`` that differ from ``row``: what an observation changes on a
    catalogue row (an empty name or value never blanks what the mirror knows)."""
    return {k: v for k, v in values.items() if v not in (None, "") and getattr(row, k) != v}


def _update_changed(row: models.Model, values: dict[str, Any]) -> None:
    changed = changed_values(row, values)
    for key, value in changed.items():
        setattr(row, key, value)
    if changed:
        row.save(update_fields=[*changed, *_auto_now(row)])


def _auto_now(row: models.Model) -> list[str]:
    return [f.name for f in row._meta.concrete_fields if getattr(f, "auto_now", False)]


def catalog_resolve(
    model: type[models.Model],
    *,
    kartra_id: int | None,
    name: str,
    scope: dict[str, Any] | None = None,
    name_field: str = "name",
    extra: dict[str, Any] | None = None,
) -> models.Model:
    """Return the catalogue row for ``kartra_id`` and/or ``name`` within ``scope`` (a parent
    such as ``{"membership": m}``), creating, claiming or renaming it as needed. ``extra``
    values (e.g. a product's official name) are written when not empty."""
    scope = scope or {}
    extra = extra or {}
    name = name or ""
    rows = model.objects.filter(**scope)

    def by_id() -> models.Model:
        row = rows.filter(kartra_id=kartra_id).first()
        if row is None and name:
            row = rows.filter(kartra_id__isnull=True, **{name_field: name}).first()
            if row is not None:
                row.kartra_id = kartra_id
                row.save(update_fields=["kartra_id", *_auto_now(row)])
        if row is None:
            return model.objects.create(**scope, kartra_id=kartra_id, **{name_field: name}, **extra)
        _update_changed(row, {name_field: name, **extra})
        return row

    def by_name() -> models.Model:
        row = (
            rows.filter(**{name_field: name})
            .order_by(F("kartra_id").desc(nulls_last=True), "pk")
            .first()
        )
        if row is None:
            return model.objects.create(**scope, kartra_id=None, **{name_field: name}, **extra)
        _update_changed(row, extra)
        return row

    return _retrying(by_id if kartra_id is not None else by_name)


def catalog_resolve_names(
    model: type[models.Model],
    names: Iterable[str],
    *,
    scope: dict[str, Any] | None = None,
) -> dict[str, models.Model]:
    """Resolve many names at once (a snapshot's tags, say) in a constant number of queries.

    Missing names are created without an id. Rows with an id win over id-less rows of the
    same name. Names are inserted in sorted order so concurrent writers lock in one order.
    """
    scope = scope or {}
    wanted = sorted({n for n in names if n})
    if not wanted:
        return {}

    def lookup(names_: list[str]) -> dict[str, models.Model]:
        found: dict[str, models.Model] = {}
        query = model.objects.filter(**scope, name__in=names_).order_by(
            "name", F("kartra_id").desc(nulls_last=True), "pk"
        )
        for row in query:
            found.setdefault(row.name, row)
        return found

    found = lookup(wanted)
    missing = [n for n in wanted if n not in found]
    if missing:
        model.objects.bulk_create([model(**scope, name=n) for n in missing], ignore_conflicts=True)
        found.update(lookup(missing))
    return found
