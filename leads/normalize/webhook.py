"""Outbound-API webhooks: ``{"lead": {...}, "action": "...", "action_details": {...}}``.

Shapes per action from ``kartra-docs/001_e756867310665d73.txt`` (25 actions; the
``kartra_page_visit`` one again in ``000``), plus ``survey_complete`` from
``kartra-facts.md``. A new action is one entry in :data:`_PARSERS`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .details import (
    ASSET_NAME_MAX,
    CATALOG_NAME_MAX,
    parse_calendar,
    parse_membership,
    parse_ref,
    parse_survey,
)
from .errors import PayloadError
from .jsonlenient import loads_lenient
from .profile import lead_id, parse_profile
from .records import CatalogRef, Detail, WebhookEvent
from .transaction import parse_product, parse_transaction
from .values import (
    INT,
    child,
    json_storable,
    json_text_storable,
    require_dict,
    to_int,
    to_text,
)

DETAILS = "action_details"

DetailParser = Callable[[dict], Detail]


def _ref(
    key: str, id_key: str, name_keys: tuple[str, ...], max_length: int = CATALOG_NAME_MAX
) -> DetailParser:
    """``action_details[key]`` as a :class:`CatalogRef`."""

    def parse(details: dict) -> CatalogRef:
        path = child(DETAILS, key)
        obj = require_dict(details.get(key), path)
        return parse_ref(obj, path, id_key, name_keys, max_length=max_length)

    return parse


def _form(details: dict) -> CatalogRef:
    # 001 documents filled_form's form_id/form_name under the key "tag"; accept "form" too.
    key = "form" if isinstance(details.get("form"), dict) else "tag"
    path = child(DETAILS, key)
    obj = require_dict(details.get(key), path)
    return parse_ref(obj, path, "form_id", ("form_name",), max_length=ASSET_NAME_MAX)


def _transaction(default_type: str) -> DetailParser:
    """``action_details.transaction_details``; the action's type stands in for a missing
    ``transaction_type``."""

    def parse(details: dict) -> Any:
        path = child(DETAILS, "transaction_details")
        return parse_transaction(
            details.get("transaction_details"), path, default_type=default_type
        )

    return parse


def _points(details: dict) -> int:
    path = child(DETAILS, "points")
    points = to_int(details.get("points"), path, bits=INT)
    if points is None:
        raise PayloadError(path, details.get("points"), "value required")
    return points


def _product(details: dict) -> Any:
    path = child(DETAILS, "product")
    product = parse_product(require_dict(details.get("product"), path), path)
    if product is None:
        raise PayloadError(path, details.get("product"), "needs product_id or product_name")
    return product


def _membership(details: dict) -> Any:
    return parse_membership(details.get("membership"), child(DETAILS, "membership"))


def _calendar(details: dict) -> Any:
    return parse_calendar(details.get("calendar"), child(DETAILS, "calendar"))


def _survey(details: dict) -> Any:
    return parse_survey(details.get("survey"), child(DETAILS, "survey"))


_list = _ref("list", "list_id", ("list_name",))
_tag = _ref("tag", "tag_id", ("tag_name",))
# get_lead calls a sequence a "tree" in one variant (002); accept that name here too.
_sequence = _ref("sequence", "sequence_id", ("sequence_name", "tree_name"))
_video = _ref("video", "video_id", ("video_name",), ASSET_NAME_MAX)

_PARSERS: dict[str, DetailParser] = {
    "list_subscription": _list,
    "list_unsubscription": _list,
    "assign_tag": _tag,
    "unassign_tag": _tag,
    "filled_form": _form,
    "sequence_subscription": _sequence,
    "sequence_unsubscription": _sequence,
    "sequence_completion": _sequence,
    "click_tracking_link": _ref(
        "tracking_link", "tracking_link_id", ("tracking_link_name",), ASSET_NAME_MAX
    ),
    "click_page_split_test_link": _ref(
        "page_split_test_link",
        "page_split_test_link_id",
        ("page_split_test_link_name",),
        ASSET_NAME_MAX,
    ),
    "buy_product": _transaction("sale"),
    "refund_product": _transaction("refund"),
    "partial_refund_product": _transaction("partial_refund"),
    "cancel_subscription": _transaction("cancellation"),
    "video_play": _video,
    "video_complete": _video,
    "reaches_score": _points,
    "membership_granted": _membership,
    "membership_revoked": _membership,
    "affiliate_signup": _product,
    "jv_signup": _product,
    "kartra_page_visit": _ref(
        "kartra_page", "kartra_page_id", ("kartra_page_name",), ASSET_NAME_MAX
    ),
    "calendar_subscribe": _calendar,
    "calendar_complete": _calendar,
    "calendar_cancel": _calendar,
    "survey_complete": _survey,
}

#: The 26 documented actions: 25 in 001 plus survey_complete (kartra-facts.md).
WEBHOOK_ACTIONS: frozenset[str] = frozenset(_PARSERS)


def parse_webhook(data: bytes | str | dict) -> WebhookEvent:
    """Parse one delivery body (raw bytes/str, or already decoded).

    The lead block needs a positive ``id`` and ``action`` a non-empty string. A documented
    action's ``action_details`` must have its documented shape, else :class:`PayloadError`
    names the field. An undocumented action is returned with ``known=False`` and no detail.
    """
    body, action = _envelope(data)
    # Raw blocks are kept as sent when the text shows they hold nothing unstorable.
    storable = not isinstance(data, dict) and json_text_storable(data)
    lead = parse_profile(body.get("lead"), "lead", storable=storable)
    raw_details = body.get(DETAILS)
    parser = _PARSERS.get(action)
    if parser is None:
        # Undocumented (e.g. "lead visits external page", 004 trigger 24): shape unknown.
        details = raw_details if isinstance(raw_details, dict) else {}
        details = details if storable else json_storable(details)
        return WebhookEvent(action=action, lead=lead, detail=None, raw_details=details, known=False)
    details = require_dict(raw_details, DETAILS)
    return WebhookEvent(
        action=action,
        lead=lead,
        detail=parser(details),
        raw_details=details if storable else json_storable(details),
        known=True,
    )


def webhook_first_look(data: bytes | str | dict) -> tuple[str, int]:
    """Whether a body is a Kartra event, as far as the webhook URL checks before it answers:
    the checks of :func:`parse_webhook` but those of the lead block's values other than its
    ``id``, which only processing reads (a value there that cannot be read rejects the
    delivery then, with its reason). Return its action and lead id, or raise
    :class:`PayloadError`: what this refuses, :func:`parse_webhook` refuses too."""
    body, action = _envelope(data)
    lead = require_dict(body.get("lead"), "lead")
    kartra_id = lead_id(lead, "lead")
    parser = _PARSERS.get(action)
    if parser is not None:
        parser(require_dict(body.get(DETAILS), DETAILS))
    return action, kartra_id


def _envelope(data: bytes | str | dict) -> tuple[dict, str]:
    """The decoded body and its action (stripped)."""
    body = data if isinstance(data, dict) else loads_lenient(data)
    body = require_dict(body, "body")
    action = body.get("action")
    if not isinstance(action, str) or not action.strip():
        raise PayloadError("action", action, "expected a non-empty string")
    return body, to_text(action, "action").strip()
