"""The endpoint Kartra's outbound API posts to.

Kartra signs nothing and sends no event id, so the URL carries a secret token and every
POST is stored as received before anything else happens (see ``events.services``).
"""

import ipaddress
import logging

from django.conf import settings
from django.db import DatabaseError
from django.db.transaction import non_atomic_requests
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.crypto import constant_time_compare
from django.utils.decorators import method_decorator
from django.views import View
from django.views.decorators.csrf import csrf_exempt

from .models import DeliveryStatus
from .services import delivery_store
from .tasks import delivery_dispatch

logger = logging.getLogger(__name__)

# Headers worth keeping with a delivery; cookies and credentials never are.
KEPT_HEADERS = (
    "Content-Type",
    "Content-Length",
    "Content-Encoding",
    "User-Agent",
    "X-Forwarded-For",
    "X-Forwarded-Proto",
    "X-Real-Ip",
    "X-Request-Id",
)


def token_accepted(token: str) -> bool:
    """Compare against every configured token in constant time, so a token can be rotated
    by listing the old and the new one together."""
    accepted = False
    for candidate in settings.KARTRA_WEBHOOK_TOKENS:
        if candidate and constant_time_compare(candidate, token):
            accepted = True
    return accepted


def client_ip(request: HttpRequest) -> str | None:
    """The sender's address; behind ``KARTRA_TRUSTED_PROXY_COUNT`` proxies, the address the
    outermost trusted proxy saw, taken from X-Forwarded-For."""
    address = request.META.get("REMOTE_ADDR")
    proxies = settings.KARTRA_TRUSTED_PROXY_COUNT
    forwarded = [a.strip() for a in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
    forwarded = [a for a in forwarded if a]
    if proxies and len(forwarded) >= proxies:
        address = forwarded[-proxies]
    try:
        return str(ipaddress.ip_address(address)) if address else None
    except ValueError:
        return None


@method_decorator([csrf_exempt, non_atomic_requests], name="dispatch")
class KartraWebhookView(View):
    http_method_names = ["post", "head", "options"]

    def dispatch(self, request: HttpRequest, token: str, *args, **kwargs) -> HttpResponse:
        if not token_accepted(token):
            return JsonResponse({"error": "unknown webhook URL"}, status=404)
        return super().dispatch(request, *args, **kwargs)

    def head(self, request: HttpRequest) -> HttpResponse:
        return HttpResponse(status=200)

    def post(self, request: HttpRequest) -> HttpResponse:
        limit = settings.KARTRA_WEBHOOK_MAX_BYTES
        body = request.read(limit + 1)
        headers = {h: request.headers[h] for h in KEPT_HEADERS if h in request.headers}
        meta = {
            "content_type": request.content_type or request.headers.get("Content-Type", ""),
            "headers": headers,
            "remote_addr": client_ip(request),
        }
        too_large = len(body) > limit
        try:
            if too_large:
                reason = f"body over {limit} bytes"
                delivery = delivery_store(
                    body=body, status=DeliveryStatus.TOO_LARGE, error=reason, **meta
                )
                return JsonResponse({"error": reason, "delivery": delivery.pk}, status=413)
            delivery = delivery_store(body=body, **meta)
        except DatabaseError:
            logger.exception("could not store a webhook delivery")
            return JsonResponse({"error": "could not store the delivery; retry"}, status=503)
        try:
            delivery = delivery_dispatch(delivery)
        except DatabaseError:
            logger.exception("delivery %s stored but not processed", delivery.pk)
            return JsonResponse({"delivery": delivery.pk, "status": DeliveryStatus.RECEIVED})
        if delivery.status == DeliveryStatus.REJECTED:
            return JsonResponse({"error": delivery.error, "delivery": delivery.pk}, status=400)
        return JsonResponse({"delivery": delivery.pk, "status": delivery.status})
