"""The bare baseline of bench/ingest.py: the least a store-first webhook receiver can do.

This module is a Django settings module and its URLconf at once. As settings it is the
project's own (same database, connection reuse, middleware, logging: everything), with
``ROOT_URLCONF`` pointing here; bench/ingest.py serves it with the project's WSGI entry point:

    DJANGO_SETTINGS_MODULE=bench.ingest_baseline gunicorn kartra_mirror.wsgi:application

Its one view stores the POST body with one INSERT into ``bench_ingest_delivery``, a table
created by bench/ingest.py as ``LIKE events_delivery INCLUDING ALL`` (same columns, defaults
and indexes), filling the columns the real receiver fills, and answers 200 with the row's
id. Nothing else: no token check, no parsing, no duplicate lookup, no processing.
"""

import hashlib
import json

from django.db import connection
from django.http import HttpResponse, HttpResponseNotAllowed
from django.urls import path
from django.views.decorators.csrf import csrf_exempt

from kartra_mirror.settings import *  # noqa: F403 - the project's settings, unchanged

ROOT_URLCONF = __name__
TABLE = "bench_ingest_delivery"
INSERT = f"""
    INSERT INTO {TABLE} (received_at, body, body_sha256, size, content_type, headers,
                         remote_addr, kind, status, action, error, traceback, attempts)
    VALUES (now(), %s, %s, %s, %s, '{{}}', %s, 'webhook', 'received', '', '', '', 0)
    RETURNING id"""


@csrf_exempt
def store(request, token: str) -> HttpResponse:
    if request.method == "HEAD":  # bench/ingest.py's readiness probe, as the real view
        return HttpResponse()
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST", "HEAD"])
    body = request.body
    with connection.cursor() as cursor:
        cursor.execute(
            INSERT,
            [
                body,
                hashlib.sha256(body).hexdigest(),
                len(body),
                request.content_type[:255],
                request.META.get("REMOTE_ADDR"),
            ],
        )
        (pk,) = cursor.fetchone()
    return HttpResponse(json.dumps({"delivery": pk}), content_type="application/json")


urlpatterns = [path("webhooks/kartra/<str:token>/", store)]
