"""How one lead of the mirror differs from Kartra's ``get_lead`` answer (pure code).

A difference is what applying the snapshot would change (``leads.services.snapshot``): a
profile field or custom field the answer carries with another value, a relation row it lists
that the mirror lacks or holds otherwise, and a row of a set it lists in full that the mirror
still holds (tags, lists, sequences, memberships, calendar registrations, survey results). Where the
snapshot would not change the mirror, nothing differs: a sequence the mirror knows completed
while ``get_lead`` says active (it cannot say completed), custom fields ``get_lead`` leaves
out. Transactions are the exception: one the mirror holds and Kartra no longer lists is
reported, though a refresh keeps it (money history is append-only).

State the mirror observed after the request was sent (a webhook received meanwhile, a newer
refresh) is newer than the answer and is never reported.

Each difference names its likely cause: a kind of change that Kartra announces with an
outbound event (``kartra-docs/001_e756867310665d73.txt``, and ``survey_complete`` in
``kartra-facts.md``) most likely reached the mirror through a webhook that did not arrive; a
change with no event (profile and custom field edits, a score short of ``reaches_score``, a
sequence's step, rebills, rescheduled sessions) only a refresh catches.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from events.models import DriftCause
from leads.models import Consent, MirrorStatus, SequenceStatus, Source
from leads.normalize import LeadSnapshot, SurveyRecord
from leads.services.audit_mirror import (
    FLAG_WORDS,
    MirrorLead,
    Seen,
    calendar_row_values,
    item_name,
)

MISSED, NONE = DriftCause.MISSED_WEBHOOK, DriftCause.NO_WEBHOOK

#: Transaction types an outbound event announces; the others (rebill, chargeback, failed)
#: come without one.
TRANSACTION_EVENTS = {
    "sale": "buy_product",
    "refund": "refund_product",
    "partial_refund": "partial_refund_product",
    "cancellation": "cancel_subscription",
}
#: Calendar registration statuses an outbound event sets; Pending and Declined have none.
CALENDAR_EVENTS = {
    "Active": "calendar_subscribe",
    "Completed": "calendar_complete",
    "Cancelled": "calendar_cancel",
}


@dataclass(frozen=True)
class Difference:
    """One way a lead differs. ``relation``: profile, custom field, tag, list, sequence,
    membership, transaction, subscription, calendar, survey or lead; ``name``: which field
    or row; ``mirror`` and ``kartra``: JSON-ready values, None where a side has none."""

    relation: str
    name: str
    mirror: Any
    kartra: Any
    cause: str

    def __str__(self) -> str:
        return f"{self.relation} {self.name}".strip()


def gone_compare(
    mirror: MirrorLead | None, *, deleted: bool, requested_at: datetime
) -> list[Difference]:
    """Kartra answered that the lead is deleted (245) or not found (234/243): a difference
    when the mirror holds it as anything else, unless a webhook received after the request
    shows it alive (the mirror then keeps it, as a refresh would)."""
    status = MirrorStatus.DELETED if deleted else MirrorStatus.NOT_FOUND
    if mirror is None or mirror.status == status:
        return []
    if mirror.webhook_at is not None and mirror.webhook_at > requested_at:
        return []
    return [Difference("lead", "status", mirror.status, str(status), DriftCause.LEAD_DELETED)]


def lead_compare(
    snapshot: LeadSnapshot, mirror: MirrorLead | None, *, requested_at: datetime
) -> list[Difference]:
    """Every difference between the mirror's lead and ``snapshot``, an answer to a request
    sent at ``requested_at``. A lead the mirror lacks, or knows by its id or email only
    (pending), is one difference: the whole lead."""
    if mirror is None or mirror.status == MirrorStatus.PENDING:
        status = mirror.status if mirror is not None else None
        return [Difference("lead", "status", status, "active", DriftCause.LEAD_UNKNOWN)]
    found: list[Difference] = []
    if mirror.profile_at is None or mirror.profile_at <= requested_at:
        if mirror.status != MirrorStatus.ACTIVE:
            found.append(Difference("lead", "status", mirror.status, "active", NONE))
        found += _profile(snapshot, mirror)
    found += _custom_fields(snapshot, mirror, requested_at)
    found += _flags(snapshot, mirror, requested_at)
    found += _sequences(snapshot, mirror, requested_at)
    found += _transactions(snapshot, mirror, requested_at)
    found += _calendars(snapshot, mirror, requested_at)
    found += _surveys(snapshot, mirror, requested_at)
    return found


def _newer(seen: Seen | None, requested_at: datetime) -> bool:
    return seen is not None and seen.at is not None and seen.at > requested_at


def _listed(snapshot: LeadSnapshot, key: str) -> bool:
    """Whether the answer lists the relation set ``key`` at all (then in full)."""
    return key in snapshot.profile.raw


def _profile(snapshot: LeadSnapshot, mirror: MirrorLead) -> list[Difference]:
    fields = dict(snapshot.profile.fields)
    if "gdpr_lead_communications" in fields:
        # The number means the opposite in a webhook: what differs is what it means.
        fields["consent"] = Consent.of(fields.pop("gdpr_lead_communications"), Source.SNAPSHOT)
    return [
        Difference("profile", key, mirror.profile.get(key), value, NONE)
        for key, value in fields.items()
        if mirror.profile.get(key) != value
    ]


def _custom_fields(
    snapshot: LeadSnapshot, mirror: MirrorLead, requested_at: datetime
) -> list[Difference]:
    found = []
    for record in snapshot.profile.custom_values or ():
        key = record.field_kartra_id if record.field_kartra_id is not None else record.identifier
        seen = mirror.custom.get(key)
        if _newer(seen, requested_at):
            continue
        text, options = seen.value if seen is not None else ("", [])
        wanted = sorted((o.kartra_id, o.value) for o in record.options)
        if text == record.text and [i for i, _ in options] == [i for i, _ in wanted]:
            continue
        holds_options = bool(options or wanted)
        found.append(
            Difference(
                "custom field",
                record.identifier or str(record.field_kartra_id),
                [v for _, v in options] if holds_options else text,
                [v for _, v in wanted] if holds_options else record.text,
                NONE,
            )
        )
    return found


def _flag_rows(snapshot: LeadSnapshot) -> dict[str, dict[Any, bool]]:
    """Tags, lists and memberships as the answer lists them: key -> active."""
    return {
        "tag": dict.fromkeys(snapshot.tags, True),
        "list": {s.name: s.active for s in snapshot.lists},
        "membership": {(m.name, m.level_name): m.active for m in snapshot.memberships},
    }


def _flags(snapshot: LeadSnapshot, mirror: MirrorLead, requested_at: datetime) -> list[Difference]:
    """Tags, lists and memberships: a row listed with another flag (a missing row counts as
    inactive), and a row of a listed set that the mirror holds active and Kartra omits."""
    found = []
    stored = {"tag": mirror.tags, "list": mirror.lists, "membership": mirror.memberships}
    for relation, listed in _flag_rows(snapshot).items():
        rows, key = stored[relation], f"{relation}s"
        for item, active in listed.items():
            seen = rows.get(item)
            if _newer(seen, requested_at) or bool(seen and seen.value) == active:
                continue
            if seen is None and mirror.replaced_after(key, requested_at):
                continue
            mine = None if seen is None else _flag_word(relation, seen.value)
            theirs = _flag_word(relation, active)
            found.append(Difference(relation, item_name(item), mine, theirs, MISSED))
        if not _listed(snapshot, key):
            continue
        for item, seen in rows.items():
            if item not in listed and seen.value and not _newer(seen, requested_at):
                mine = _flag_word(relation, True)
                found.append(Difference(relation, item_name(item), mine, None, MISSED))
    return found


def _flag_word(relation: str, active: bool) -> str:
    on, off = FLAG_WORDS[relation]
    return on if active else off


def _sequences(
    snapshot: LeadSnapshot, mirror: MirrorLead, requested_at: datetime
) -> list[Difference]:
    """A status that differs is a missed event; a step alone has none. ``get_lead`` cannot
    say completed: its active does not contradict a completion the mirror knows."""
    found: list[Difference] = []
    listed = {state.name: state for state in snapshot.sequences}
    for name, state in listed.items():
        seen = mirror.sequences.get(name)
        if _newer(seen, requested_at):
            continue
        kartra = {"status": state.status, "step": state.step}
        if seen is None:
            if state.status != SequenceStatus.UNSUBSCRIBED and not mirror.replaced_after(
                "sequences", requested_at
            ):
                found.append(Difference("sequence", name, None, kartra, MISSED))
            continue
        status, step = seen.value
        same_status = status == state.status or (
            status == SequenceStatus.COMPLETED and state.status == SequenceStatus.ACTIVE
        )
        if not same_status or step != state.step:
            cause = NONE if same_status else MISSED
            found.append(
                Difference("sequence", name, {"status": status, "step": step}, kartra, cause)
            )
    if _listed(snapshot, "sequences"):
        for name, seen in mirror.sequences.items():
            status, step = seen.value
            if name in listed or status == SequenceStatus.UNSUBSCRIBED:
                continue
            if not _newer(seen, requested_at):
                found.append(
                    Difference("sequence", name, {"status": status, "step": step}, None, MISSED)
                )
    return found


def _transaction_values(record) -> dict[str, Any]:
    values = dict(record.fields)
    if record.product is not None and record.product.name:
        values["product"] = record.product.name
    if record.subscription_kartra_id is not None:
        values["subscription"] = record.subscription_kartra_id
    return values


def _transactions(
    snapshot: LeadSnapshot, mirror: MirrorLead, requested_at: datetime
) -> list[Difference]:
    """A listed transaction the mirror lacks (a missed purchase, refund or cancellation
    event, or a rebill, which has none) or holds with other values; one the mirror holds
    that Kartra no longer lists is kept by every refresh, and reported as kept."""
    found = []
    listed = {record.kartra_id: record for record in snapshot.transactions}
    for kartra_id, record in listed.items():
        seen = mirror.transactions.get(kartra_id)
        if _newer(seen, requested_at):
            continue
        kartra = _transaction_values(record)
        if seen is None:
            event = TRANSACTION_EVENTS.get(record.fields.get("transaction_type"))
            cause = MISSED if event else NONE
            found.append(Difference("transaction", str(kartra_id), None, kartra, cause))
            continue
        differing = sorted(key for key, value in kartra.items() if seen.value.get(key) != value)
        if differing:
            mine = {key: seen.value.get(key) for key in differing}
            theirs = {key: kartra[key] for key in differing}
            found.append(Difference("transaction", str(kartra_id), mine, theirs, NONE))
    found += _cancellations(listed.values(), mirror, requested_at)
    if _listed(snapshot, "transactions"):
        for kartra_id, seen in sorted(mirror.transactions.items()):
            if kartra_id not in listed and not _newer(seen, requested_at):
                kept = {key: seen.value[key] for key in _SUMMARY}
                found.append(Difference("transaction", str(kartra_id), kept, None, DriftCause.KEPT))
    return found


#: What a transaction only the mirror holds is shown with.
_SUMMARY = ("transaction_type", "product", "amount", "transaction_date")


def _cancellations(records, mirror: MirrorLead, requested_at: datetime) -> list[Difference]:
    """Subscriptions a listed cancellation names (``get_lead`` names a subscription only
    through a transaction's ``transaction_subscription_id``) that the mirror holds active."""
    found = []
    for record in records:
        number = record.subscription_kartra_id
        if number is None or record.fields.get("transaction_type") != "cancellation":
            continue
        if _newer(mirror.transactions.get(record.kartra_id), requested_at):
            continue
        cancelled = mirror.subscriptions.get(number)
        if not cancelled:
            mine = None if cancelled is None else "active"
            found.append(Difference("subscription", str(number), mine, "cancelled", MISSED))
    return found


def _calendar_values(record) -> dict[str, Any]:
    values = {
        "calendar": record.calendar.name,
        "class": record.calendar_class.name if record.calendar_class is not None else None,
        "status": record.status or "Active",
        "vendor_id": record.vendor_id,
        "vendor_timezone": record.vendor_timezone,
        "ics_calendar_link": record.ics_calendar_link,
        "hosts": list(record.hosts),
    }
    if record.events:  # a snapshot without events leaves the stored ones
        values["events"] = sorted([start, minutes] for start, minutes in record.events)
    return values


def _calendars(
    snapshot: LeadSnapshot, mirror: MirrorLead, requested_at: datetime
) -> list[Difference]:
    """Registrations matched as the writer matches them: by Kartra's subscription id, else
    the unnumbered registration a webhook made for the same calendar class."""
    found, matched = [], set()
    by_number = {row.kartra_id: row for row in mirror.calendars if row.kartra_id is not None}
    unnumbered = {
        (row.calendar, row.calendar_class): row for row in mirror.calendars if row.kartra_id is None
    }
    for record in snapshot.calendars:
        kartra = _calendar_values(record)
        place = (kartra["calendar"], kartra["class"])
        number = record.subscription_kartra_id
        row = by_number.get(number) if number is not None else None
        row = row or unnumbered.get(place)
        name = str(number) if number is not None else item_name(place)
        if row is not None:
            matched.add(id(row))
            if row.at > requested_at:
                continue
        elif mirror.replaced_after("calendars", requested_at):
            continue
        mine = None if row is None else calendar_row_values(row)
        differing = sorted(k for k in kartra if mine is None or mine.get(k) != kartra[k])
        if not differing:
            continue
        told = "status" in differing and kartra["status"] in CALENDAR_EVENTS
        cause = MISSED if told or mine is None else NONE
        if mine is not None:
            mine, kartra = ({k: v[k] for k in differing} for v in (mine, kartra))
        found.append(Difference("calendar", name, mine, kartra, cause))
    if _listed(snapshot, "calendars"):
        for row in mirror.calendars:
            if id(row) not in matched and row.at <= requested_at:
                name = str(row.kartra_id or item_name((row.calendar, row.calendar_class)))
                found.append(Difference("calendar", name, calendar_row_values(row), None, MISSED))
    return found


def _survey_values(record: SurveyRecord) -> dict[str, Any]:
    answers = {
        str(a.question_kartra_id): {
            "correct": a.correct,
            "options": sorted({o.kartra_id for o in a.options}),
        }
        for a in record.answers
    }
    return {
        "score": record.score,
        "completion_time": record.completion_time,
        "completed_at": record.completed_at,
        "answers": answers,
    }


def _latest_results(snapshot: LeadSnapshot) -> dict[tuple[int | None, str], SurveyRecord]:
    """One result per survey, as the writer keeps it: of a survey listed twice, the latest
    completion (between listings without a date or of the same date, the last)."""
    latest: dict[tuple[int | None, str], SurveyRecord] = {}
    for record in snapshot.surveys:
        key = (record.survey.kartra_id, record.survey.name)
        kept = latest.get(key)
        if (
            kept is None
            or kept.completed_at is None
            or (record.completed_at is not None and record.completed_at >= kept.completed_at)
        ):
            latest[key] = record
    return latest


def _surveys(
    snapshot: LeadSnapshot, mirror: MirrorLead, requested_at: datetime
) -> list[Difference]:
    found, matched = [], set()
    by_id = {key[0]: key for key in mirror.surveys if key[0] is not None}
    by_name = {key[1]: key for key in sorted(mirror.surveys, key=lambda k: k[0] is not None)}
    for (kartra_id, survey), record in _latest_results(snapshot).items():
        key = by_id.get(kartra_id) if kartra_id is not None else by_name.get(survey)
        seen = mirror.surveys.get(key) if key is not None else None
        matched.add(key)
        if _newer(seen, requested_at) or (
            seen is None and mirror.replaced_after("surveys", requested_at)
        ):
            continue
        kartra = _survey_values(record)
        mine = seen.value if seen is not None else None
        differing = sorted(k for k in kartra if mine is None or mine[k] != kartra[k])
        if differing:
            if mine is not None:
                mine, kartra = ({k: v[k] for k in differing} for v in (mine, kartra))
            found.append(Difference("survey", survey or str(kartra_id), mine, kartra, MISSED))
    if _listed(snapshot, "surveys"):
        for key, seen in mirror.surveys.items():
            if key not in matched and not _newer(seen, requested_at):
                found.append(Difference("survey", key[1] or str(key[0]), seen.value, None, MISSED))
    return found
