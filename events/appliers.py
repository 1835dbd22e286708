"""One small applier per Kartra outbound action, and the table that dispatches to them.

An applier says what its action observed, by adding to the batch's ``ChangeSet`` (which
``leads.services.changes`` writes for the whole batch at once), and returns what the activity
row for its delivery points at. Adding a Kartra event is one entry in ``APPLIERS`` plus, where
it changes state, one function. Shapes: ``../shared/kartra-docs/001_e756867310665d73.txt``.
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from leads.models import AssetKind, CalendarStatus, SequenceStatus, SignupKind
from leads.normalize import IPN_ACTIONS, WebhookEvent
from leads.services.changes import (
    KEEP,
    ChangeSet,
    FlagChange,
    MembershipChange,
    RecordChange,
    SequenceChange,
    Written,
)
from leads.services.commerce import ProductSignupRecord
from leads.services.observation import Observation


@dataclass
class ActivityTarget:
    """What an activity row points at, once the batch is written: an asset (kind and
    catalogue key), a product, the row a record was written to, the score reached, and the
    details (``describe`` fills in what only the written batch knows, such as names)."""

    asset: tuple | None = None  # (kind, Kartra id, name)
    product: tuple | None = None  # ((None, id, name), official name)
    record: object | None = None  # a TransactionRecord whose row the activity points at
    points: int | None = None
    details: dict[str, Any] = field(default_factory=dict)
    describe: Callable[[Written], dict[str, Any]] | None = None


Applier = Callable[[WebhookEvent, Observation, ChangeSet], ActivityTarget]


def _key(ref) -> tuple:
    return (None, ref.kartra_id, ref.name)


def _flag(relation: str, active: bool) -> Applier:
    """A tag or list assigned or removed."""
    singular = relation.removesuffix("s")

    def apply(event: WebhookEvent, observation: Observation, changes: ChangeSet):
        key = _key(event.detail)
        getattr(changes, relation).append(
            FlagChange(event.lead.kartra_id, key, active, observation)
        )
        return ActivityTarget(
            describe=lambda written: {singular: getattr(written, relation)[key].name}
        )

    return apply


def _sequence(status: str, *, step=KEEP) -> Applier:
    def apply(event: WebhookEvent, observation: Observation, changes: ChangeSet):
        key = _key(event.detail)
        changes.sequences.append(
            SequenceChange(event.lead.kartra_id, key, status, step, observation)
        )
        return ActivityTarget(describe=lambda written: {"sequence": written.sequences[key].name})

    return apply


def _asset(kind: str) -> Applier:
    def apply(event: WebhookEvent, observation: Observation, changes: ChangeSet):
        return ActivityTarget(asset=(kind, event.detail.kartra_id, event.detail.name))

    return apply


def _transaction(event: WebhookEvent, observation: Observation, changes: ChangeSet):
    changes.transactions.append(RecordChange(event.lead.kartra_id, event.detail, observation))
    return ActivityTarget(record=event.detail)


def _membership(active: bool) -> Applier:
    def apply(event: WebhookEvent, observation: Observation, changes: ChangeSet):
        record = event.detail
        membership = _key(record.membership)
        level = _key(record.level) if record.level is not None else None
        changes.memberships.append(
            MembershipChange(event.lead.kartra_id, membership, level, active, observation)
        )

        def describe(written: Written) -> dict[str, Any]:
            row = written.memberships[membership]
            name = written.levels[(row.pk, *level[1:])].name if level else None
            return {"membership": row.name, "level": name}

        return ActivityTarget(describe=describe)

    return apply


def _product_signup(kind: str) -> Applier:
    """An affiliate or JV sign-up: lead state (which product, since when) and activity."""

    def apply(event: WebhookEvent, observation: Observation, changes: ChangeSet):
        ref = event.detail
        if ref is None or (ref.kartra_id is None and not ref.name):
            return ActivityTarget()
        record = ProductSignupRecord(kind, ref)
        changes.signups.append(RecordChange(event.lead.kartra_id, record, observation))
        return ActivityTarget(product=(_key(ref), ref.official_name))

    return apply


def _calendar(status: str) -> Applier:
    def apply(event: WebhookEvent, observation: Observation, changes: ChangeSet):
        record = event.detail
        changes.calendars.append(
            RecordChange(event.lead.kartra_id, record, observation, status=status)
        )

        def describe(written: Written) -> dict[str, Any]:
            row = written.records.get(id(record))  # None: a newer snapshot superseded it
            if row is None:
                klass = record.calendar_class
                return {"calendar": record.calendar.name, "class": klass and klass.name}
            klass = row.calendar_class.name if row.calendar_class_id else None
            return {"calendar": row.calendar.name, "class": klass}

        return ActivityTarget(describe=describe)

    return apply


def _survey(event: WebhookEvent, observation: Observation, changes: ChangeSet):
    record = event.detail
    changes.surveys.append(RecordChange(event.lead.kartra_id, record, observation))

    def describe(written: Written) -> dict[str, Any]:
        row = written.records.get(id(record)) or record  # a record a newer snapshot superseded
        name = row.survey.name
        return {"survey": name, "score": str(row.score) if row.score is not None else None}

    return ActivityTarget(describe=describe)


def _score(event: WebhookEvent, observation: Observation, changes: ChangeSet):
    # ``points`` is the threshold the lead reached (001: "the points score number the lead
    # has reached"), not its score: the lead's score came with the delivery's lead block,
    # applied as its profile. The threshold belongs to the activity only.
    return ActivityTarget(points=event.detail)


APPLIERS: dict[str, Applier] = {
    "list_subscription": _flag("lists", active=True),
    "list_unsubscription": _flag("lists", active=False),
    "assign_tag": _flag("tags", active=True),
    "unassign_tag": _flag("tags", active=False),
    "filled_form": _asset(AssetKind.FORM),
    # A new subscription starts over; the step comes with the next get_lead snapshot.
    "sequence_subscription": _sequence(SequenceStatus.ACTIVE, step=None),
    "sequence_unsubscription": _sequence(SequenceStatus.UNSUBSCRIBED),
    "sequence_completion": _sequence(SequenceStatus.COMPLETED),
    "click_tracking_link": _asset(AssetKind.TRACKING_LINK),
    "click_page_split_test_link": _asset(AssetKind.SPLIT_TEST_LINK),
    "buy_product": _transaction,
    "refund_product": _transaction,
    "partial_refund_product": _transaction,
    "cancel_subscription": _transaction,
    "video_play": _asset(AssetKind.VIDEO),
    "video_complete": _asset(AssetKind.VIDEO),
    "reaches_score": _score,
    "membership_granted": _membership(active=True),
    "membership_revoked": _membership(active=False),
    "affiliate_signup": _product_signup(SignupKind.AFFILIATE),
    "jv_signup": _product_signup(SignupKind.JV),
    "kartra_page_visit": _asset(AssetKind.PAGE),
    "calendar_subscribe": _calendar(CalendarStatus.ACTIVE),
    "calendar_complete": _calendar(CalendarStatus.COMPLETED),
    "calendar_cancel": _calendar(CalendarStatus.CANCELLED),
    "survey_complete": _survey,
    # Kartra's IPN (kartra-facts.md, "IPN"): every type is one transaction.
    **dict.fromkeys(sorted(IPN_ACTIONS), _transaction),
}
