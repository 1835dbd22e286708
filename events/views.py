"""The endpoints Kartra's outbound API (webhooks) and its IPN post to.

Kartra signs nothing and sends no event id, so the URL carries a secret token and every
POST is stored as received before anything else happens (see ``events.services``).
"""

import ipaddress
import json
import logging
import socket
from collections.abc import Iterator
from contextlib import contextmanager, suppress

from django.conf import settings
from django.db import DatabaseError
from django.db.transaction import non_atomic_requests
from django.http import HttpRequest, HttpResponse, UnreadablePostError
from django.http.request import HttpHeaders
from django.utils.crypto import constant_time_compare
from django.views import View
from django.views.decorators.csrf import csrf_exempt

from leads.normalize import PayloadError, parse_ipn, webhook_first_look

from .drain import deliveries_drain_soon
from .models import DeliveryKind, DeliveryStatus
from .services import delivery_insert, delivery_process, storable

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
#: Each kept header with the ``request.META`` key WSGI gives it.
_KEPT_META = tuple((name, HttpHeaders.to_wsgi_name(name)) for name in KEPT_HEADERS)


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


def _answer(payload: dict, status: int = 200) -> HttpResponse:
    """A JSON answer of plain values (``JsonResponse`` builds an encoder in every call)."""
    return HttpResponse(json.dumps(payload), content_type="application/json", status=status)


@contextmanager
def client_read_deadline(request: HttpRequest) -> Iterator[None]:
    """Under gunicorn, each read of the request body waits at most
    ``KARTRA_WEBHOOK_READ_TIMEOUT`` seconds for the client, so a stalled sender cannot hold
    a worker thread: the read raises :class:`TimeoutError` (or Django's
    :class:`UnreadablePostError`), and the connection takes nothing more from that client."""
    sock = request.META.get("gunicorn.socket")
    if sock is None:
        yield
        return
    sock.settimeout(settings.KARTRA_WEBHOOK_READ_TIMEOUT)
    try:
        yield
    except (OSError, UnreadablePostError):
        with suppress(OSError):
            sock.shutdown(socket.SHUT_RD)
        raise
    finally:
        with suppress(OSError):
            sock.settimeout(None)


def read_body(request: HttpRequest, limit: int) -> bytes | None:
    """Up to ``limit + 1`` bytes of the request body, whatever its transfer encoding.

    Django reads no further than Content-Length, so a chunked body (no Content-Length)
    would read as empty. A server that decodes chunked bodies says so with
    ``wsgi.input_terminated`` (gunicorn does); the body is then read from its input to the
    end. A server that does not (Django's runserver) cannot deliver it: ``None``.
    """
    meta = request.META
    if (
        not meta.get("CONTENT_LENGTH")
        and not meta.get("wsgi.input_terminated")
        and "chunked" in meta.get("HTTP_TRANSFER_ENCODING", "").lower()
    ):
        return None
    with client_read_deadline(request):
        if meta.get("CONTENT_LENGTH") or not meta.get("wsgi.input_terminated"):
            return request.read(limit + 1)
        stream, chunks, size = meta["wsgi.input"], [], 0
        while size <= limit and (chunk := stream.read(min(65536, limit + 1 - size))):
            chunks.append(chunk)
            size += len(chunk)
        return b"".join(chunks)


class KartraWebhookView(View):
    """Store the delivery with one INSERT and answer; processing happens after (see
    ``events.drain``), or in the request with ``KARTRA_PROCESS_INLINE``. A body that is
    not a Kartra event is told so with a 400 and kept; telling needs no database, and reads
    the lead block no further than its id (``webhook_first_look``)."""

    http_method_names = ["post", "head", "options"]
    kind = DeliveryKind.WEBHOOK
    #: The body's action and lead id, or :class:`PayloadError` when it is not an event.
    first_look = staticmethod(webhook_first_look)

    @classmethod
    def as_view(cls, **initkwargs):
        """The view, exempt from CSRF and from ``ATOMIC_REQUESTS`` (the store is its own
        transaction). Marked once here, where ``method_decorator`` would decorate
        ``dispatch`` anew in every request."""
        return csrf_exempt(non_atomic_requests(super().as_view(**initkwargs)))

    def dispatch(self, request: HttpRequest, token: str, *args, **kwargs) -> HttpResponse:
        if not token_accepted(token):
            return _answer({"error": "unknown webhook URL"}, status=404)
        return super().dispatch(request, *args, **kwargs)

    def head(self, request: HttpRequest) -> HttpResponse:
        return HttpResponse(status=200)

    def post(self, request: HttpRequest) -> HttpResponse:
        limit = settings.KARTRA_WEBHOOK_MAX_BYTES
        try:
            body = read_body(request, limit)
        except (OSError, UnreadablePostError):
            # Nothing complete arrived: there is no delivery to keep, and the sender retries.
            return _answer({"error": "the body did not arrive in time"}, status=408)
        if body is None:
            reason = "a chunked body cannot be read by this server; send Content-Length"
            return _answer({"error": reason}, status=411)
        environ = request.META
        headers = {n: storable(environ[key], 1024) for n, key in _KEPT_META if key in environ}
        meta = {
            "content_type": storable(request.content_type or headers.get("Content-Type", "")),
            "headers": headers,
            "remote_addr": client_ip(request),
            "kind": self.kind,
        }
        try:
            if len(body) > limit:
                reason = f"body over {limit} bytes"
                too_large = {"status": DeliveryStatus.TOO_LARGE, "error": reason}
                pk = delivery_insert(body=body, **meta, **too_large)
                return _answer({"error": reason, "delivery": pk}, status=413)
            looked = self._looked(body)
            pk = delivery_insert(body=body, **meta, **looked)
        except DatabaseError:
            logger.exception("could not store a webhook delivery")
            return _answer({"error": "could not store the delivery; retry"}, status=503)
        if looked.get("status") == DeliveryStatus.REJECTED:
            reason = storable(looked["error"])  # as stored
            return _answer({"error": reason, "delivery": pk}, status=400)
        return _answer({"delivery": pk, "status": self._process(pk)})

    @classmethod
    def _looked(cls, body: bytes) -> dict:
        """What the stored row says before processing: a body that is not a Kartra event
        is stored ``rejected`` with the reason; an event, with its action and lead id."""
        try:
            action, lead_kartra_id = cls.first_look(body)
        except PayloadError as exc:
            return {"status": DeliveryStatus.REJECTED, "error": str(exc)}
        except Exception as exc:  # noqa: BLE001 - a parser bug: stored; processing records it
            logger.error("%s body could not be read (%s); stored", cls.kind, type(exc).__name__)
            return {}
        return {"action": action, "lead_kartra_id": lead_kartra_id}

    @staticmethod
    def _process(pk: int) -> str:
        """Process delivery ``pk`` inline when configured, else ask for processing; the
        status to answer."""
        if settings.KARTRA_PROCESS_INLINE:
            try:
                return delivery_process(delivery_id=pk).status
            except DatabaseError:
                logger.warning("delivery %s stored; processing it now failed", pk)
        deliveries_drain_soon()
        return DeliveryStatus.RECEIVED


class KartraIpnView(KartraWebhookView):
    """Kartra's IPN, set per product (``kartra-facts.md``, "IPN"): form-encoded fields,
    stored and answered as a webhook is, marked ``ipn`` so that processing reads it as one.
    A body that is not an IPN (a webhook's JSON, a type it does not document) is kept and
    told so with a 400; nothing of it is applied."""

    kind = DeliveryKind.IPN

    @staticmethod
    def first_look(body: bytes) -> tuple[str, int]:
        event = parse_ipn(body)  # an IPN is short: read whole
        return event.action, event.lead.kartra_id
