"""Keyset (cursor) paging: no COUNT, no OFFSET, the same cost on page 1 and page 20,000.

A page is "the next ``page_size`` rows after position P in ordering O", where P is the
ordering field's value and the primary key of the last row seen. The primary key breaks ties,
so the order is total and a walk over the pages neither skips nor repeats a row, even when
many rows share a value. The cursor is opaque to clients (base64 JSON).

NULLs sort as PostgreSQL's btree stores them: after every value going up, before every value
going down, so one ``(field, id)`` index serves both directions. The rows with a value and the
rows without one are fetched as two index-ordered segments, because a single ``... OR field IS
NULL`` condition cannot be an index condition; the second query only runs on the page where
one segment ends.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections import OrderedDict
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from django.core.exceptions import FieldDoesNotExist
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import models
from django.db.models import Q, QuerySet
from rest_framework.exceptions import ValidationError
from rest_framework.pagination import BasePagination
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.utils.urls import replace_query_param

INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1


@dataclass(frozen=True)
class Ordering:
    """One orderable field of a model, in one direction, with the pk as tiebreaker."""

    name: str  # as the client writes it: "score" or "-score"
    field: models.Field
    descending: bool

    @classmethod
    def parse(cls, model: type[models.Model], name: str, field_name: str) -> Ordering:
        """The ordering ``name`` (``-`` for descending) over ``model.field_name`` (``pk``: the
        primary key)."""
        field = model._meta.pk if field_name == "pk" else model._meta.get_field(field_name)
        return cls(name=name, field=field, descending=name.startswith("-"))

    @property
    def unique(self) -> bool:
        """A unique, non-null field orders rows totally by itself: no tiebreaker needed."""
        return self.field.primary_key or (self.field.unique and not self.field.null)

    def position(self, row: models.Model | dict) -> list[Any]:
        """The position of a row: a model instance, or a dict of ``QuerySet.values``."""
        if isinstance(row, dict):
            value, pk = row[self.field.attname], row[self.field.model._meta.pk.attname]
        else:
            value, pk = getattr(row, self.field.attname), row.pk
        return [value] if self.unique else [value, pk]

    def segments(self, position: list[Any] | None, reverse: bool) -> list[tuple[Q, list]]:
        """The (condition, order_by) pairs that list the rows after ``position``, in order.

        ``reverse`` walks backwards (for the previous page). Each pair is one index range
        scan on PostgreSQL; they are read one after the other until the page is full.
        """
        f, pk = self.field.attname, "pk"
        desc = self.descending != reverse
        gt, ge = ("lt", "lte") if desc else ("gt", "gte")  # "after" in the walking direction
        by_value = [f"-{f}" if desc else f] + ([] if self.unique else [f"-{pk}" if desc else pk])
        by_pk = [f"-{pk}" if desc else pk]

        def after_value(value: Any, key: Any = None) -> Q:
            if self.unique:
                return Q(**{f"{f}__{gt}": value})
            # "f >= v AND (f > v OR pk > k)": the first half is an index condition, the
            # second only filters the rows tied at v.
            return Q(**{f"{f}__{ge}": value}) & (
                Q(**{f"{f}__{gt}": value}) | Q(**{f"pk__{gt}": key})
            )

        if not self.field.null:
            if position is None:
                return [(Q(), by_value)]
            return [(after_value(*position), by_value)]

        has_value, no_value = Q(**{f"{f}__isnull": False}), Q(**{f"{f}__isnull": True})
        if position is None:
            first = [(has_value, by_value), (no_value, by_pk)]
            return first if not desc else first[::-1]
        value, key = position
        if value is None:
            after_key = no_value & Q(**{f"pk__{gt}": key})
            return [(after_key, by_pk)] if not desc else [(after_key, by_pk), (has_value, by_value)]
        if not desc:
            return [(after_value(value, key), by_value), (no_value, by_pk)]
        return [(after_value(value, key), by_value)]

    def encode(self, position: list[Any]) -> list[Any]:
        return [_json_value(v) for v in position]

    def decode(self, raw: Any) -> list[Any]:
        """Validate a position read from a cursor; raise ValueError if it does not fit."""
        if not isinstance(raw, list) or len(raw) != (1 if self.unique else 2):
            raise ValueError("wrong shape")
        value = raw[0]
        if value is None:
            if not self.field.null:
                raise ValueError("null position on a non-null field")
        elif isinstance(value, (bool, dict, list)):
            raise ValueError("not a scalar")
        else:
            try:
                value = self.field.to_python(value)
            except (DjangoValidationError, TypeError, OverflowError) as exc:
                raise ValueError("bad value") from exc
            if isinstance(value, int):
                value = _int64(value)
            if isinstance(value, datetime):
                value = value.astimezone(UTC)  # PostgreSQL refuses offsets over 15:59
            if isinstance(value, str) and "\x00" in value:
                raise ValueError("NUL in a text position")  # PostgreSQL refuses NUL bytes
        return [value] if self.unique else [value, _int64(raw[1])]


def _int64(value: Any) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not INT64_MIN <= value <= INT64_MAX:
        raise ValueError("not a 64-bit integer")
    return value


def _json_value(value: Any) -> Any:
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


class PageSize:
    """The ``page_size`` query parameter: 1 to ``max_page_size``, ``page_size`` when absent
    or not a number."""

    page_size = 50
    max_page_size = 500
    page_size_query_param = "page_size"

    def get_page_size(self, request: Request) -> int:
        raw = request.query_params.get(self.page_size_query_param)
        try:
            size = int(raw) if raw is not None else self.page_size
        except ValueError:
            return self.page_size
        return self.page_size if size < 1 else min(size, self.max_page_size)

    def page_size_parameter(self) -> dict:
        return {
            "name": self.page_size_query_param,
            "required": False,
            "in": "query",
            "description": f"Rows per page (default {self.page_size}, "
            f"at most {self.max_page_size}).",
            "schema": {"type": "integer", "minimum": 1, "maximum": self.max_page_size},
        }


class KeysetPagination(PageSize, BasePagination):
    """Cursor paging over the view's ``ordering_fields`` (default: the view's ``ordering``,
    which need not be among them).

    Query parameters: ``cursor`` (opaque, from ``next``/``previous``), ``page_size`` (1 to
    ``max_page_size``) and ``ordering`` (a field name, ``-`` for descending).
    """

    cursor_query_param = "cursor"
    ordering_query_param = "ordering"

    def paginate_queryset(self, queryset: QuerySet, request: Request, view=None) -> list:
        self.base_url = request.build_absolute_uri()
        self.page_size = self.get_page_size(request)
        self.ordering = self.get_ordering(request, queryset.model, view)
        position, reverse = self.decode_cursor(request)

        rows: list = []
        for condition, order_by in self.ordering.segments(position, reverse):
            wanted = self.page_size + 1 - len(rows)
            if wanted <= 0:
                break
            segment = queryset.filter(condition) if condition else queryset  # Q(): all
            rows.extend(segment.order_by(*order_by)[:wanted])

        more = len(rows) > self.page_size
        rows = rows[: self.page_size]
        if reverse:
            rows.reverse()
        first = self.ordering.position(rows[0]) if rows else position
        last = self.ordering.position(rows[-1]) if rows else position
        if not reverse:
            self.next_position = (last, False) if more else None
            self.previous_position = (first, True) if position is not None else None
        else:
            self.previous_position = (first, True) if more else None
            self.next_position = (last, False) if position is not None else None
        return rows

    def get_paginated_response(self, data) -> Response:
        return Response(
            OrderedDict(
                [
                    ("next", self.get_next_link()),
                    ("previous", self.get_previous_link()),
                    ("results", data),
                ]
            )
        )

    def get_next_link(self) -> str | None:
        return self._link(self.next_position)

    def get_previous_link(self) -> str | None:
        return self._link(self.previous_position)

    def _link(self, target: tuple[list[Any], bool] | None) -> str | None:
        if target is None or target[0] is None:
            return None
        position, reverse = target
        payload = {"o": self.ordering.name, "p": self.ordering.encode(position)}
        if reverse:
            payload["r"] = 1
        token = base64.urlsafe_b64encode(json.dumps(payload, separators=(",", ":")).encode())
        return replace_query_param(self.base_url, self.cursor_query_param, token.decode())

    def get_ordering(self, request: Request, model: type[models.Model], view) -> Ordering:
        """The ordering the request asks for, one of the view's ``ordering_fields`` (its
        ``ordering_field()`` says which model field each name stands for), else the view's
        default ``ordering``."""
        name = request.query_params.get(self.ordering_query_param)
        if not name:
            name = view.ordering
        elif name not in (allowed := self.allowed_orderings(view)):
            choices = f"Choose one of: {', '.join(allowed)}." if allowed else "None is offered."
            raise ValidationError({self.ordering_query_param: [choices]})
        return Ordering.parse(model, name, view.ordering_field(name.removeprefix("-")))

    @staticmethod
    def allowed_orderings(view) -> list[str]:
        return [name for field in view.ordering_fields for name in (field, f"-{field}")]

    def decode_cursor(self, request: Request) -> tuple[list[Any] | None, bool]:
        raw = request.query_params.get(self.cursor_query_param)
        if not raw:
            return None, False
        try:
            payload = json.loads(base64.urlsafe_b64decode(raw.encode("ascii")))
            if not isinstance(payload, dict) or payload.get("o") != self.ordering.name:
                raise ValueError("cursor of another ordering")
            return self.ordering.decode(payload.get("p")), bool(payload.get("r"))
        except (ValueError, OverflowError, UnicodeError, binascii.Error, FieldDoesNotExist):
            raise ValidationError({self.cursor_query_param: ["Invalid cursor."]}) from None

    def get_schema_operation_parameters(self, view) -> list[dict]:
        return [
            {
                "name": self.cursor_query_param,
                "required": False,
                "in": "query",
                "description": "Opaque position, taken from the `next` or `previous` link.",
                "schema": {"type": "string"},
            },
            self.page_size_parameter(),
        ] + self._ordering_parameter(view)

    def _ordering_parameter(self, view) -> list[dict]:
        allowed = self.allowed_orderings(view)
        if not allowed:
            return []  # a fixed order
        default = f"`{view.ordering}`" if view.ordering in allowed else "newest in the mirror first"
        return [
            {
                "name": self.ordering_query_param,
                "required": False,
                "in": "query",
                "description": f"Sort field, `-` for descending (default: {default}). `id` "
                "is the id the rows show. Ties are broken by the order rows entered the mirror.",
                "schema": {"type": "string", "enum": allowed},
            }
        ]

    def get_paginated_response_schema(self, schema: dict) -> dict:
        link = {"type": "string", "nullable": True, "format": "uri"}
        return {
            "type": "object",
            "required": ["next", "previous", "results"],
            "properties": {"next": link, "previous": link, "results": schema},
        }


class FeedPagination(PageSize, BasePagination):
    """An append-only feed read in order, resumed from the last row a reader saw.

    ``after`` is the ``id`` of the last row the reader processed (0, or nothing, for the
    start); a page is the next ``page_size`` rows after it in id order. The answer always
    carries ``cursor`` (the id to pass as ``after`` next time: the last row's, or the one
    given when nothing is new) and ``next`` (that request as a URL), so a reader polls
    ``next`` for ever; ``more`` says whether rows were already waiting beyond this page.
    The feed's writers number rows in commit order, so no row ever appears behind a cursor
    a reader already passed.
    """

    page_size = 100
    max_page_size = 1000
    cursor_query_param = "after"

    def paginate_queryset(self, queryset: QuerySet, request: Request, view=None) -> list:
        self.base_url = request.build_absolute_uri()
        self.page_size = self.get_page_size(request)
        self.after = self.decode_after(request)
        rows = list(queryset.filter(pk__gt=self.after).order_by("pk")[: self.page_size + 1])
        self.more = len(rows) > self.page_size
        rows = rows[: self.page_size]
        self.cursor = rows[-1].pk if rows else self.after
        return rows

    def decode_after(self, request: Request) -> int:
        raw = request.query_params.get(self.cursor_query_param) or "0"
        try:
            after = int(raw)
            if not 0 <= after <= INT64_MAX:
                raise ValueError(raw)
        except ValueError:
            message = "The id of the last row read: a whole number, 0 or more."
            raise ValidationError({self.cursor_query_param: [message]}) from None
        return after

    def get_next_link(self) -> str:
        return replace_query_param(self.base_url, self.cursor_query_param, self.cursor)

    def get_paginated_response(self, data) -> Response:
        return Response(
            OrderedDict(
                [
                    ("cursor", str(self.cursor)),
                    ("more", self.more),
                    ("next", self.get_next_link()),
                    ("results", data),
                ]
            )
        )

    def get_schema_operation_parameters(self, view) -> list[dict]:
        return [
            {
                "name": self.cursor_query_param,
                "required": False,
                "in": "query",
                "description": "The `cursor` of the last page read (the `id` of the last "
                "row processed); rows after it come next. 0 or absent: from the start.",
                "schema": {"type": "string", "pattern": "^[0-9]+$"},
            },
            self.page_size_parameter(),
        ]

    def get_paginated_response_schema(self, schema: dict) -> dict:
        return {
            "type": "object",
            "required": ["cursor", "more", "next", "results"],
            "properties": {
                "cursor": {"type": "string", "description": "Pass as `after` next time."},
                "more": {"type": "boolean", "description": "Rows wait beyond this page."},
                "next": {"type": "string", "format": "uri"},
                "results": schema,
            },
        }
