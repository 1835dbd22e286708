"""Compare the mirror of one lead with the fake account's truth (``expected_state``).

Where Kartra's API cannot tell the mirror something, the check says so and asks only for
consistency: ``get_lead`` names sequences, memberships and levels without ids, does not
mark a completed sequence (only webhooks do), and lists neither subscriptions nor parent
transactions nor affiliate/JV sign-ups; a deleted lead answers only "deleted" (245).
"""

from decimal import Decimal
from typing import Any

from events.models import Activity
from kartra_fake import FakeAccount, expected_state
from kartra_fake.state import PROFILE_TEXT
from leads.models import (
    CalendarSubscription,
    Consent,
    CustomFieldValue,
    Lead,
    LeadTag,
    ListSubscription,
    MembershipAccess,
    MirrorStatus,
    SequenceSubscription,
    SurveyResult,
    Transaction,
)

#: The fake keeps 002's survey type numbers; the mirror names them.
SURVEY_TYPES = {1: "survey", 2: "quiz"}


def mismatches(account: FakeAccount, lead_id: int) -> list[str]:
    """Every difference between the mirror and the truth for one lead, as text."""
    truth = expected_state(account, account.lead(lead_id))
    lead = Lead.objects.filter(kartra_id=lead_id).first()
    if lead is None:
        return [f"lead {lead_id}: not in the mirror"]
    problems: list[str] = []

    def check(what: str, mirrored: Any, expected: Any) -> None:
        if mirrored != expected:
            problems.append(f"lead {lead_id} {what}: mirror {mirrored!r} != truth {expected!r}")

    if truth["deleted"]:
        check("status", (lead.mirror_status, lead.lead_deleted), (MirrorStatus.DELETED, True))
        return problems
    check("status", (lead.mirror_status, lead.lead_deleted), (MirrorStatus.ACTIVE, False))
    _profile(lead, truth["profile"], check)
    _custom_fields(lead, truth["custom_fields"], check)
    _relations(lead, truth, check)
    _activity(lead, truth, check)
    return problems


def _profile(lead: Lead, profile: dict, check) -> None:
    for name in PROFILE_TEXT:
        check(name, getattr(lead, name), profile[name])
    for name in ("date_joined", "score", "blacklisted", "gdpr_lead_status",
                 "gdpr_lead_status_date"):  # fmt: skip
        check(name, getattr(lead, name), profile[name])
    check("source_id", lead.source_id or 0, profile["source_id"])
    check("referring_id", lead.referring_id or 0, profile["referring_id"])
    agreed = profile["gdpr_communications_agreed"]
    check("consent", lead.consent, Consent.AGREED if agreed else Consent.NOT_AGREED)


def _custom_fields(lead: Lead, custom: dict, check) -> None:
    values = {
        v.field.identifier: v
        for v in CustomFieldValue.objects.filter(lead=lead)
        .select_related("field")
        .prefetch_related("options")
    }
    for identifier, expected in custom.items():
        value = values.get(identifier)
        if isinstance(expected, str):
            check(f"custom field {identifier}", value.text if value else "", expected)
        else:
            chosen = sorted((o.kartra_id, o.value) for o in value.options.all()) if value else []
            want = sorted((o["option_id"], o["option_value"]) for o in expected)
            check(f"custom field {identifier}", chosen, want)


def _relations(lead: Lead, truth: dict, check) -> None:
    tags = LeadTag.objects.filter(lead=lead, active=True).select_related("tag")
    check("tags", sorted(t.tag.name for t in tags), sorted(t["name"] for t in truth["tags"]))
    ids = {t["name"]: t["id"] for t in truth["tags"]}
    for link in tags:
        if link.tag.kartra_id is not None:
            check(f"tag id of {link.tag.name}", link.tag.kartra_id, ids.get(link.tag.name))

    lists = {s.list.name: s.active for s in ListSubscription.objects.filter(lead=lead)}
    expected_lists = {s["name"]: s["active"] for s in truth["lists"]}
    extra = {name for name, active in lists.items() if name not in expected_lists and active}
    check("lists", ({n: lists.get(n) for n in expected_lists}, extra), (expected_lists, set()))

    sequences = {
        s.sequence.name: (s.step, s.status)
        for s in SequenceSubscription.objects.filter(lead=lead).select_related("sequence")
    }
    for s in truth["sequences"]:
        step, status = sequences.pop(s["name"], (None, None))
        if status == "completed" and s["completed"]:
            status = "active"  # get_lead's word for a completed sequence
        check(f"sequence {s['name']}", (step, status), (s["step"], s["status"]))
    leftover = {n for n, (_, status) in sequences.items() if status != "unsubscribed"}
    check("sequences not in Kartra", leftover, set())

    access = {
        (a.membership.name, a.level.name if a.level_id else None): a.active
        for a in MembershipAccess.objects.filter(lead=lead).select_related("membership", "level")
    }
    for m in truth["memberships"]:
        check(f"membership {m['name']}", access.get((m["name"], m["level_name"])), m["active"])
    active = {k for k, on in access.items() if on}
    check("active memberships", active,
          {(m["name"], m["level_name"]) for m in truth["memberships"] if m["active"]})  # fmt: skip

    rows = Transaction.objects.filter(lead=lead).select_related("product", "subscription")
    check("transactions",
          sorted((t.kartra_id, t.transaction_type, t.product.name, int(t.price_point), t.amount,
                  t.transaction_date) for t in rows),
          sorted((t["id"], t["type"], t["product_name"], t["price_point"], t["amount"], t["date"])
                 for t in truth["transactions"]))  # fmt: skip
    by_id = {t["id"]: t for t in truth["transactions"]}
    for t in rows:
        if t.parent_kartra_id is not None:
            check(f"parent of {t.kartra_id}", t.parent_kartra_id, by_id[t.kartra_id]["parent_id"])
        if t.subscription is not None:
            check(f"subscription of {t.kartra_id}", t.subscription.kartra_id,
                  by_id[t.kartra_id]["subscription_id"])  # fmt: skip
    subscriptions = {s["id"]: s for s in truth["subscriptions"]}
    for sub in lead.subscriptions.all():
        if sub.cancelled:
            check(f"subscription {sub.kartra_id}", subscriptions[sub.kartra_id]["status"],
                  "cancelled")  # fmt: skip

    calendars = CalendarSubscription.objects.filter(lead=lead).select_related(
        "calendar", "calendar_class"
    )
    check("calendars",
          sorted((c.kartra_id, c.calendar.kartra_id, c.calendar.name, c.calendar_class.kartra_id,
                  c.calendar_class.name, c.status,
                  [(e.starts_at, e.duration_minutes) for e in c.events.all()]) for c in calendars),
          sorted((c["subscription_id"], c["calendar_id"], c["calendar_name"], c["class_id"],
                  c["class_name"], c["status"], [(e["start"], e["minutes"]) for e in c["events"]])
                 for c in truth["calendars"]))  # fmt: skip

    results = SurveyResult.objects.filter(lead=lead).select_related("survey")
    check("surveys",
          sorted((r.survey.kartra_id, r.survey.name, r.survey.survey_type, r.score,
                  r.completion_time, r.completed_at,
                  {a.question.kartra_id: sorted(o.kartra_id for o in a.options.all())
                   for a in r.answers.all()}) for r in results),
          sorted((s["survey_id"], s["survey_name"], SURVEY_TYPES[s["survey_type"]],
                  None if s["score"] is None else Decimal(s["score"]), s["completion_time"],
                  s["completion_date"], s["answers"]) for s in truth["surveys"]))  # fmt: skip


def _activity(lead: Lead, truth: dict, check) -> None:
    activities = Activity.objects.filter(lead=lead).select_related("asset", "product")
    counts: dict[str, int] = {}
    for activity in activities:
        counts[activity.action] = counts.get(activity.action, 0) + 1
    check("activity", dict(sorted(counts.items())), truth["activity"])
    forms = sorted(a.asset.kartra_id for a in activities if a.action == "filled_form")
    check("forms", forms, sorted(truth["forms"]))
    for action, key in (("affiliate_signup", "affiliate_products"), ("jv_signup", "jv_products")):
        products = {a.product.kartra_id for a in activities if a.action == action}
        check(key, products - set(truth[key]), set())
