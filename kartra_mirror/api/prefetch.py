"""Prefetching for one row: skip the relations the row has none of.

A detail page prefetches every relation its serializer shows, one query each, and most rows
hold only a few kinds (a lead with tags and lists but no membership, survey or calendar
booking). The row's own query asks, with one cheap ``EXISTS`` per relation, which it has;
the empty ones are then filled in without a query.
"""

from django.core.exceptions import FieldDoesNotExist
from django.db import connection
from django.db.models import BooleanField, ManyToOneRel, Model, Prefetch, prefetch_related_objects
from django.db.models.expressions import RawSQL

PRESENT = "_has_%s"


def _lookup(prefetch: str | Prefetch) -> str:
    return prefetch.prefetch_through if isinstance(prefetch, Prefetch) else prefetch


def _reverse_foreign_key(model: type[Model], lookup: str) -> ManyToOneRel | None:
    """The reverse foreign key ``lookup`` names on ``model``, or None for anything else
    (a nested lookup, a many-to-many, a generic relation): those are always prefetched."""
    try:
        field = model._meta.get_field(lookup)
    except FieldDoesNotExist:
        return None
    return field if isinstance(field, ManyToOneRel) and field.one_to_many else None


def presence_annotations(model: type[Model], prefetches) -> dict[str, RawSQL]:
    """Annotations saying, per one-to-many relation prefetched, whether a row has any.

    Hand-written ``EXISTS`` over the foreign key's index: compiling them as ORM subqueries
    would cost about what the queries they save do.
    """
    quote = connection.ops.quote_name
    outer = f"{quote(model._meta.db_table)}.{quote(model._meta.pk.column)}"
    annotations = {}
    for prefetch in prefetches:
        lookup = _lookup(prefetch)
        relation = _reverse_foreign_key(model, lookup)
        if relation is None:
            continue
        table = quote(relation.related_model._meta.db_table)
        column = quote(relation.field.column)
        annotations[PRESENT % lookup] = RawSQL(
            f"EXISTS (SELECT 1 FROM {table} WHERE {table}.{column} = {outer})",
            (),
            output_field=BooleanField(),
        )
    return annotations


def prefetch_present(row: Model, prefetches) -> None:
    """Prefetch on ``row`` the relations it has (per ``presence_annotations``); give each of
    the others an empty result, as a prefetch that found nothing leaves it, without a query
    or even compiling one.

    A fast path through Django's internals: it stores the empty result where
    ``prefetch_related_objects()`` does (``_prefetched_objects_cache``, an evaluated queryset
    marked ``_prefetch_done``). It is kept for the API's goal, p95 <= 1.3x the "DRF + ORM"
    floor (``bench/floor.py``, bench/README.md "The floor"): the stock way to an empty
    relation without SQL, prefetching it from ``related_model.objects.none()``, still builds
    and compiles a query per empty relation, and put the lead detail at 1.34x and 1.41x of
    the floor on a quiet machine (p95 12.6 and 13.7 ms against 9.4 and 9.7; ``bench/floor.py
    --stock prefetch``) where this gives 1.18-1.22x (11.2-11.5 ms against 9.4-9.5). Pinned
    against stock behaviour by ``tests/leads/api/test_prefetch.py`` (the detail equals a full
    prefetch's, with no query for an empty relation) and ``tests/leads/api/test_fast_paths.py``
    (each relation reads what ``prefetch_related_objects`` leaves), on the newest Django in
    CI.
    """
    present = []
    for prefetch in prefetches:
        lookup = _lookup(prefetch)
        if getattr(row, PRESENT % lookup, True):
            present.append(prefetch)
        elif isinstance(prefetch, Prefetch) and prefetch.to_attr:
            setattr(row, prefetch.to_attr, [])
        else:
            relation = _reverse_foreign_key(type(row), lookup)
            empty = relation.related_model._default_manager.none()
            # What prefetch_related_objects() stores for a reverse foreign key: the
            # manager's all() then returns this evaluated, empty queryset.
            empty._result_cache, empty._prefetch_done = [], True
            if not hasattr(row, "_prefetched_objects_cache"):
                row._prefetched_objects_cache = {}
            row._prefetched_objects_cache[relation.cache_name] = empty
    prefetch_related_objects([row], *present)
