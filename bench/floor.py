"""The API against the floor under it: a DRF endpoint doing nothing but reading the rows.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/kartra_bench .venv/bin/python bench/floor.py
    # --scenario "lead detail" --scenario "filter by tag" ... to run a few; --requests 100;
    # --stock prefetch / --stock filters: a fast path replaced by the stock behaviour

Runs on bench/api.py's seeded database (it seeds it first if nobody has). For every scenario
of bench/api.py it times, alternately request by request, two endpoints returning the same
rows:

- "DRF + ORM" (the floor): a DRF view with the API's authentication and permission classes
  that reads the rows with plain ORM ``values()`` queries (one per statement the scenario's
  SQL needs: the page; or the lead, then each relation it has) and returns them: no
  FilterSet, no keyset paging, no serializer, no links;
- "API": ``/api/v1/leads/...``, everything.

It prints both p95s, their ratio and whether the API meets the goal: **p95 <= 1.3x the
floor's and under 50 ms**. The floor is the least any endpoint built on DRF and the ORM can
cost; the ratio is what the API's own machinery adds on top of it.
"""

from __future__ import annotations

import argparse
import base64
import json
import sys

import api as bench

GOAL_RATIO, GOAL_MS = 1.3, 50.0

urlpatterns: list = []  # this module is the URLconf while it runs (see main)


def build_urlpatterns() -> list:
    from django.db.models import Exists, OuterRef, Q, Value
    from django.db.models.functions import Lower
    from django.db.models.lookups import Exact
    from django.http import Http404
    from django.urls import include, path
    from rest_framework.response import Response
    from rest_framework.views import APIView

    from events.models import Activity
    from kartra_mirror.api.permissions import ViewModelPermissions
    from leads.api.serializers.base import LATEST_ACTIVITY
    from leads.api.serializers.lead import LEAD_LIST_COLUMNS
    from leads.models import Lead, LeadTag, List, ListSubscription, Tag
    from leads.selectors import held_condition

    class Floor(APIView):
        queryset = Lead.objects.all()  # what ViewModelPermissions reads the model from
        permission_classes = (ViewModelPermissions,)

    class FloorList(Floor):
        def get(self, request):
            params = request.query_params
            rows = Lead.objects.values(*LEAD_LIST_COLUMNS).order_by("-id")
            if cursor := params.get("cursor"):
                rows = rows.filter(id__lt=json.loads(base64.urlsafe_b64decode(cursor))["p"][0])
            if search := params.get("search"):
                fields = ("email", "first_name", "last_name", "phone")
                rows = rows.filter(Q.create([(f"{f}__icontains", search) for f in fields], "OR"))
            if email := params.get("email"):
                rows = rows.filter(Exact(Lower("email"), Lower(Value(email))), ~Q(email=""))
            # A catalogue name is resolved to its rows first, as the API (and bench/api.py's
            # bare SQL) does, so that PostgreSQL plans the lead query for those very rows.
            for name in params.getlist("tag"):
                tags = list(Tag.objects.filter(name=name).values_list("pk", flat=True))
                held = LeadTag.objects.filter(held_condition(LeadTag), tag__in=tags)
                rows = rows.filter(Exists(held.filter(lead=OuterRef("pk"))))
            if names := params.getlist("list"):
                lists = list(List.objects.filter(name__in=names).values_list("pk", flat=True))
                held = ListSubscription.objects.filter(
                    held_condition(ListSubscription), list__in=lists
                )
                rows = rows.filter(Exists(held.filter(lead=OuterRef("pk"))))
            return Response({"results": list(rows[: bench.PAGE + 1])})

    relations = detail_relations()
    # What the detail shows of the lead itself: every column but the raw JSON (deferred).
    lead_columns = [f.attname for f in Lead._meta.concrete_fields if f.name != "mirror_raw"]

    class FloorDetail(Floor):
        def get(self, request, kartra_id: int):
            presence = {
                f"has_{name}": Exists(model.objects.filter(lead=OuterRef("pk")))
                for name, model, *_ in relations
            }
            lead = (
                Lead.objects.filter(kartra_id=kartra_id)
                .annotate(**presence)
                .values(*presence, *lead_columns)
                .first()
            )
            if lead is None:
                raise Http404
            for name, model, condition, columns, order in relations:
                if lead[f"has_{name}"]:
                    lead[name] = list(
                        model.objects.filter(condition, lead=lead["id"])
                        .values(*columns)
                        .order_by(*order)
                    )
            lead["latest_activity"] = list(
                Activity.objects.filter(lead=lead["id"])
                .values(*ACTIVITY_COLUMNS)
                .order_by("-occurred_at", "-id")[:LATEST_ACTIVITY]
            )
            return Response(lead)

    return [
        path("floor/leads/", FloorList.as_view()),
        path("floor/leads/<int:kartra_id>/", FloorDetail.as_view()),
        path("api/", include("kartra_mirror.api.urls")),
    ]


ACTIVITY_COLUMNS = (
    "id",
    "action",
    "occurred_at",
    "points",
    "details",
    "asset__kind",
    "asset__kartra_id",
    "asset__name",
    "product__kartra_id",
    "product__name",
    "transaction__kartra_id",
)


def detail_relations() -> list[tuple]:
    """(name, model, condition, columns, order) per relation the lead detail shows, read as
    ``LeadDetailSerializer``'s prefetches read them (nested relations through a join)."""
    from django.db.models import Q

    from leads import models as m
    from leads.selectors import held_condition

    return [
        (
            "custom_values",
            m.CustomFieldValue,
            Q(),
            ("id", "text", "field__identifier", "field__field_type", "options__value"),
            ("field__identifier", "options__kartra_id"),
        ),
        (
            "tags",
            m.LeadTag,
            held_condition(m.LeadTag),
            ("observed_at", "tag__kartra_id", "tag__name"),
            ("tag__name",),
        ),
        (
            "lists",
            m.ListSubscription,
            Q(),
            ("active", "observed_at", "list__kartra_id", "list__name"),
            ("list__name",),
        ),
        (
            "sequences",
            m.SequenceSubscription,
            Q(),
            ("step", "status", "observed_at", "sequence__kartra_id", "sequence__name"),
            ("sequence__name",),
        ),
        (
            "memberships",
            m.MembershipAccess,
            Q(),
            (
                "active",
                "observed_at",
                "membership__kartra_id",
                "membership__name",
                "level__kartra_id",
                "level__name",
            ),
            ("membership__name", "level__name"),
        ),
        (
            "transactions",
            m.Transaction,
            Q(),
            (
                "kartra_id",
                "price_point",
                "transaction_type",
                "transaction_date",
                "amount",
                "observed_at",
                "product__kartra_id",
                "product__name",
                "subscription__kartra_id",
            ),
            ("-transaction_date", "-kartra_id"),
        ),
        (
            "calendar_subscriptions",
            m.CalendarSubscription,
            Q(),
            ("id", "kartra_id", "status", "calendar__kartra_id", "calendar__name", "events__id"),
            ("-id",),
        ),
        (
            "signups",
            m.ProductSignup,
            Q(),
            ("kind", "signed_up_at", "product__kartra_id", "product__name"),
            ("kind", "signed_up_at"),
        ),
        (
            "survey_results",
            m.SurveyResult,
            Q(),
            ("id", "survey__kartra_id", "survey__name", "answers__question__title"),
            ("-id",),
        ),
    ]


def stock_prefetch() -> None:
    """The lead detail's empty relations prefetched the stock way, from ``none()``, instead
    of ``prefetch_present``'s write into Django's prefetch cache."""
    from django.db.models import Prefetch, prefetch_related_objects

    from kartra_mirror.api import prefetch, viewsets

    def prefetch_present(row, prefetches) -> None:
        lookups = []
        for lookup in prefetches:
            name = lookup.prefetch_through if isinstance(lookup, Prefetch) else lookup
            if getattr(row, prefetch.PRESENT % name, True):
                lookups.append(lookup)
            elif isinstance(lookup, Prefetch) and lookup.to_attr:
                setattr(row, lookup.to_attr, [])
            else:
                related = type(row)._meta.get_field(name).related_model
                lookups.append(Prefetch(name, related._default_manager.none()))
        prefetch_related_objects([row], *lookups)

    viewsets.prefetch_present = prefetch_present


def stock_filters() -> None:
    """django-filter's backend as it comes: a FilterSet of every filter for each request."""
    from django_filters.rest_framework import DjangoFilterBackend

    from kartra_mirror.api.filters import FilterBackend

    FilterBackend.get_filterset = DjangoFilterBackend.get_filterset


# --stock NAME: the API with one fast path replaced by the libraries' stock behaviour.
STOCK = {"prefetch": stock_prefetch, "filters": stock_filters}


def floor_path(api_path: str) -> str:
    """The floor's path for an API path: ``/api/v1/leads/...`` -> ``/floor/leads/...``."""
    return "/floor/" + api_path.removeprefix("/api/v1/")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--scenario", action="append", help="run only this scenario of bench/api.py (repeatable)"
    )
    parser.add_argument(
        "--requests", type=int, default=bench.REQUESTS, help="measured requests per side"
    )
    parser.add_argument(
        "--stock",
        action="append",
        choices=sorted(STOCK),
        default=[],
        help="replace this fast path of the API with the stock behaviour (repeatable)",
    )
    args = parser.parse_args()
    bench.REQUESTS = args.requests

    bench.setup()
    for name in args.stock:
        STOCK[name]()
        print(f"--stock {name}: {' '.join(STOCK[name].__doc__.split())}")
    from django.db import connection
    from django.test import override_settings

    urlpatterns.extend(build_urlpatterns())
    with connection.cursor() as cursor, override_settings(ROOT_URLCONF=__name__):
        _key, client = bench.prepare(cursor)
        scenarios = bench.build_scenarios(cursor)
        if args.scenario:
            unknown = set(args.scenario) - {name for name, *_ in scenarios}
            if unknown:
                sys.exit(f"no such scenario: {', '.join(sorted(unknown))}")
            scenarios = [s for s in scenarios if s[0] in args.scenario]

        bench.print_header(
            f"{'scenario':<32}{'floor p50':>10}{'floor p95':>10}{'API p50':>9}{'API p95':>9}"
            f"{'ratio':>7}  goal (<= {GOAL_RATIO}x, < {GOAL_MS:.0f} ms)"
        )
        for name, request, _bare_sql in scenarios:

            def get(path: str, params: dict) -> None:
                response = client.get(path, params)
                assert response.status_code == 200, (path, params, response.content[:300])

            def api(i: int, request=request) -> None:
                get(*request(i))

            def floor(i: int, request=request) -> None:
                path, params = request(i)
                get(floor_path(path), params)

            api50, api95, floor50, floor95 = bench.percentiles(api, floor)
            ratio = api95 / floor95
            met = "ok" if ratio <= GOAL_RATIO and api95 < GOAL_MS else "MISSED"
            print(
                f"{name:<32}{floor50:>8.1f}ms{floor95:>8.1f}ms{api50:>7.1f}ms{api95:>7.1f}ms"
                f"{ratio:>6.2f}x  {met}",
                flush=True,
            )


if __name__ == "__main__":
    sys.exit(main())
