"""``expected_state``: a lead's truth in plain, typed Python values.

This is what a correct mirror should hold for the lead once it has seen the lead's webhooks
and/or a ``get_lead`` snapshot. Every wire quirk is already resolved here: ids are ints, flags
are bools, amounts are Decimals, dates are aware datetimes (America/New_York), empty text is
``""`` (never ``"N/A"``), and ``gdpr_communications_agreed`` is True when the lead agreed
(whatever 0/1 convention a given payload used).
"""

from __future__ import annotations

from typing import Any

from .data import FakeAccountData
from .model import TEXT_FIELD_TYPES, FakeLead, words

PROFILE_TEXT = words(
    "email first_name middle_name last_name last_name2 username company sales_tax_id "
    "phone_country_code phone ip ip_country address zip city state country lead_picture website "
    "facebook twitter linkedin google_plus notes lead_preferred_time_zone source "
    "gdpr_lead_status_ip"
)


def expected_state(account: FakeAccountData, lead: FakeLead) -> dict[str, Any]:
    """The lead's truth.

    Keys: ``id``, ``deleted``, ``deleted_at``, ``profile`` (text fields as str plus
    ``date_joined``, ``score``, ``blacklisted``, ``source_id``, ``referring_id``,
    ``gdpr_lead_status``, ``gdpr_lead_status_date``, ``gdpr_communications_agreed``),
    ``custom_fields`` (identifier -> str, or list of ``{"option_id", "option_value"}``; every
    account field present), and lists sorted by id: ``tags``, ``lists``, ``sequences``,
    ``memberships``, ``transactions``, ``subscriptions``, ``calendars``, ``surveys``; plus
    ``affiliate_products``, ``jv_products``, ``forms`` and ``activity`` (webhook action ->
    count of deliveries made by mutations for this lead).
    """
    return {
        "id": lead.id,
        "deleted": lead.deleted,
        "deleted_at": lead.deleted_date,
        "profile": _profile(lead),
        "custom_fields": _custom_fields(account, lead),
        **_subscriptions(account, lead),
        **_commerce(account, lead),
        "calendars": [_calendar(account, c) for c in sorted(lead.calendars, key=lambda c: c.id)],
        "surveys": _surveys(account, lead),
        "affiliate_products": sorted(lead.affiliate_products),
        "jv_products": sorted(lead.jv_products),
        "forms": list(lead.forms),
        "activity": dict(sorted(lead.activity.items())),
    }


def _profile(lead: FakeLead) -> dict[str, Any]:
    profile: dict[str, Any] = {name: getattr(lead, name) for name in PROFILE_TEXT}
    profile.update(
        date_joined=lead.date_joined,
        score=lead.score,
        blacklisted=lead.blacklisted,
        source_id=lead.source_id,
        referring_id=lead.referring_id,
        gdpr_lead_status=lead.gdpr_lead_status,
        gdpr_lead_status_date=lead.gdpr_lead_status_date,
        gdpr_communications_agreed=lead.gdpr_agreed,
    )
    return profile


def _custom_fields(account: FakeAccountData, lead: FakeLead) -> dict[str, Any]:
    custom: dict[str, Any] = {}
    for cf in account.custom_fields.values():
        value = lead.custom_fields.get(cf.id)
        if cf.type in TEXT_FIELD_TYPES:
            custom[cf.identifier] = value if isinstance(value, str) else ""
        else:
            names = {o.id: o.name for o in cf.options}
            chosen = value if isinstance(value, list) else []
            custom[cf.identifier] = [{"option_id": o, "option_value": names[o]} for o in chosen]
    return custom


def _subscriptions(account: FakeAccountData, lead: FakeLead) -> dict[str, list[dict[str, Any]]]:
    """Tags, lists, sequences and memberships."""
    return {
        "tags": [{"id": t, "name": account.tags[t].name} for t in sorted(lead.tags)],
        "lists": [
            {"id": s.list_id, "name": account.lists[s.list_id].name, "active": s.active}
            for s in sorted(lead.lists.values(), key=lambda s: s.list_id)
        ],
        "sequences": [
            {
                "id": s.sequence_id,
                "name": account.sequences[s.sequence_id].name,
                "step": s.step,
                "status": s.status,
                "completed": s.completed,
            }
            for s in sorted(lead.sequences.values(), key=lambda s: s.sequence_id)
        ],
        "memberships": [
            {
                "id": m.membership_id,
                "name": account.memberships[m.membership_id].name,
                "level_id": m.level_id,
                "level_name": account.level(m.membership_id, m.level_id).name,
                "active": m.active,
            }
            for m in sorted(lead.memberships.values(), key=lambda m: m.membership_id)
        ],
    }


def _commerce(account: FakeAccountData, lead: FakeLead) -> dict[str, list[dict[str, Any]]]:
    """Transactions and subscriptions."""
    return {
        "transactions": [
            {
                "id": t.id,
                "type": t.type,
                "product_id": t.product_id,
                "product_name": account.products[t.product_id].name,
                "price_point": t.price_point,
                "amount": t.amount,
                "date": t.date,
                "parent_id": t.parent_id or None,
                "subscription_id": t.subscription_id or None,
            }
            for t in sorted(lead.transactions, key=lambda t: t.id)
        ],
        "subscriptions": [
            {
                "id": s.id,
                "product_id": s.product_id,
                "product_name": account.products[s.product_id].name,
                "price_point": s.price_point,
                "original_transaction_id": s.original_transaction_id,
                "status": s.status,
                "payments_left": s.payments_left,
            }
            for s in sorted(lead.subscriptions, key=lambda s: s.id)
        ],
    }


def _surveys(account: FakeAccountData, lead: FakeLead) -> list[dict[str, Any]]:
    return [
        {
            "survey_id": r.survey_id,
            "survey_name": account.surveys[r.survey_id].name,
            "survey_type": account.surveys[r.survey_id].type,
            "score": r.score,
            "completion_time": r.completion_time,
            "completion_date": r.completion_date,
            "answers": {q: sorted(opts) for q, opts in sorted(r.answers.items())},
        }
        for r in sorted(lead.surveys, key=lambda r: r.survey_id)
    ]


def _calendar(account: FakeAccountData, sub) -> dict[str, Any]:
    calendar = account.calendars[sub.calendar_id]
    klass = next(c for c in calendar.classes if c.id == sub.class_id)
    return {
        "subscription_id": sub.id,
        "calendar_id": calendar.id,
        "calendar_name": calendar.name,
        "class_id": klass.id,
        "class_name": klass.name,
        "status": sub.status,
        "events": [{"start": start, "minutes": minutes} for start, minutes in sub.events],
    }
