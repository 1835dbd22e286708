"""How close to its bare SQL can a lead-list request get? The floor under the API.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/kartra_bench .venv/bin/python bench/floor.py

Runs on bench/api.py's seeded database (it seeds it first if nobody has). For the three
lead-list scenarios whose SQL is a single index lookup, it times three endpoints that return
the same rows, each alternating with the same bare SQL as bench/api.py (the token's
statement, then the page's), and prints p50/p95 and the p95 ratio:

- "Django + SQL": a plain Django view that runs both statements through a cursor and writes
  the rows as JSON: what Django's handler and middleware cost;
- "DRF + ORM": a DRF view with the API's authentication and permission classes that reads
  the rows with one ORM query and returns them: no FilterSet, no paging, no serializer;
- "API": ``/api/v1/leads/``, everything.

The middle line is the least any endpoint built on DRF and the ORM can cost; the gap
between it and the API is what the API's own features add.
"""

from __future__ import annotations

import base64
import json
import sys

import api as bench

urlpatterns: list = []  # this module is the URLconf while it runs (see main)


def build_urlpatterns(token_sql: str) -> list:
    from django.core.serializers.json import DjangoJSONEncoder
    from django.db import connection
    from django.db.models import Value
    from django.db.models.functions import Lower
    from django.db.models.lookups import Exact
    from django.http import HttpResponse
    from django.urls import include, path
    from rest_framework.response import Response
    from rest_framework.views import APIView

    from kartra_mirror.api.permissions import ViewModelPermissions
    from leads.api.serializers.lead import LEAD_LIST_COLUMNS
    from leads.models import Lead

    page = f"SELECT {bench.LIST_COLUMNS} FROM leads_lead"
    limit = f"ORDER BY id DESC LIMIT {bench.PAGE + 1}"

    def django_sql(request):
        key = request.headers["Authorization"].split()[1]
        email, before = request.GET.get("email"), request.GET.get("before")
        with connection.cursor() as cursor:
            cursor.execute(token_sql, [key])
            if cursor.fetchone() is None:
                return HttpResponse(status=401)
            if email:
                cursor.execute(
                    f"{page} WHERE lower(email) = lower(%s) AND email <> '' {limit}", [email]
                )
            elif before:
                cursor.execute(f"{page} WHERE id < %s {limit}", [int(before)])
            else:
                cursor.execute(f"{page} {limit}")
            names = [column.name for column in cursor.description]
            rows = [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
        body = json.dumps({"results": rows}, cls=DjangoJSONEncoder)
        return HttpResponse(body, content_type="application/json")

    class DrfOrm(APIView):
        queryset = Lead.objects.all()
        permission_classes = (ViewModelPermissions,)

        def get(self, request):
            rows = Lead.objects.values(*LEAD_LIST_COLUMNS).order_by("-id")
            if email := request.query_params.get("email"):
                rows = rows.filter(Exact(Lower("email"), Lower(Value(email)))).exclude(email="")
            elif before := request.query_params.get("before"):
                rows = rows.filter(id__lt=int(before))
            return Response({"results": list(rows[: bench.PAGE + 1])})

    return [
        path("floor/django-sql/", django_sql),
        path("floor/drf-orm/", DrfOrm.as_view()),
        path("api/", include("kartra_mirror.api.urls")),
    ]


def floor_params(params: dict) -> dict:
    """The floor endpoints' parameters for an API request's: a cursor becomes ``before``."""
    if "cursor" in params:
        payload = json.loads(base64.urlsafe_b64decode(params["cursor"]))
        return {"before": payload["p"][0]}
    return params


def main() -> None:
    bench.setup()
    from django.db import connection
    from django.test import override_settings

    from kartra_mirror.auth import token_user_sql

    token_sql = token_user_sql()
    urlpatterns.extend(build_urlpatterns(token_sql))
    with connection.cursor() as cursor, override_settings(ROOT_URLCONF=__name__):
        key, client = bench.prepare(cursor)
        scenarios = [s for s in bench.build_scenarios(cursor) if s[0] in SCENARIOS]

        bench.print_header(
            f"{'scenario':<32}{'endpoint':<15}{'p50':>8}{'p95':>8}"
            f"{'SQL p50':>9}{'SQL p95':>9}{'p95 ratio':>11}"
        )
        for name, request, bare_sql in scenarios:
            sql = bench.with_token(cursor, token_sql, key, bare_sql)
            for endpoint, path in ENDPOINTS:

                def call(i: int, path=path, request=request) -> None:
                    api_path, params = request(i)
                    if path is not None:
                        response = client.get(path, floor_params(params))
                    else:
                        response = client.get(api_path, params)
                    assert response.status_code == 200, (path, response.content[:300])

                api50, api95, sql50, sql95 = bench.percentiles(call, sql)
                print(
                    f"{name:<32}{endpoint:<15}{api50:>6.1f}ms{api95:>6.1f}ms"
                    f"{sql50:>7.1f}ms{sql95:>7.1f}ms{api95 / sql95:>10.1f}x"
                )


SCENARIOS = (
    "lead list, first page",
    "lead list, deep cursor page",
    "email, case-insensitive exact",
)
ENDPOINTS = (
    ("Django + SQL", "/floor/django-sql/"),
    ("DRF + ORM", "/floor/drf-orm/"),
    ("API", None),
)

if __name__ == "__main__":
    sys.exit(main())
