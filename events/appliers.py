"""One small applier per Kartra outbound action, and the table that dispatches to them.

An applier changes the lead's state for its action and returns what the activity row for
this delivery points at. Adding a Kartra event is one entry in ``APPLIERS`` plus, where it
changes state, one function. Shapes: ``../shared/kartra-docs/001_e756867310665d73.txt``.
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.db import models

from leads.models import (
    Asset,
    AssetKind,
    CalendarStatus,
    Lead,
    LeadTag,
    List,
    ListSubscription,
    Product,
    Sequence,
    SequenceStatus,
    SequenceSubscription,
    Tag,
    Transaction,
)
from leads.normalize import WebhookEvent
from leads.services.catalog import catalog_resolve
from leads.services.observation import Observation
from leads.services.state import (
    calendar_subscription_upsert,
    membership_access_set,
    product_resolve,
    state_upsert,
    survey_result_upsert,
    transaction_upsert,
)


@dataclass
class ActivityTarget:
    """What an activity row points at."""

    asset: Asset | None = None
    product: Product | None = None
    transaction: Transaction | None = None
    points: int | None = None
    details: dict[str, Any] = field(default_factory=dict)


Applier = Callable[[Lead, WebhookEvent, Observation], ActivityTarget]


def _relation(
    catalog: type[models.Model], state: type[models.Model], key: str, values: dict[str, Any]
) -> Applier:
    """An action that sets the lead's ``state`` row for one ``catalog`` row (a tag, list or
    sequence named by the event) to ``values``."""

    def apply(lead: Lead, event: WebhookEvent, observation: Observation) -> ActivityTarget:
        ref = event.detail
        row = catalog_resolve(catalog, kartra_id=ref.kartra_id, name=ref.name)
        state_upsert(state, lookup={"lead": lead, key: row}, values=values, observation=observation)
        return ActivityTarget(details={key: row.name})

    return apply


def _asset(kind: str) -> Applier:
    def apply(lead: Lead, event: WebhookEvent, observation: Observation) -> ActivityTarget:
        ref = event.detail
        row = catalog_resolve(Asset, kartra_id=ref.kartra_id, name=ref.name, scope={"kind": kind})
        return ActivityTarget(asset=row)

    return apply


def _transaction(lead: Lead, event: WebhookEvent, observation: Observation) -> ActivityTarget:
    row = transaction_upsert(lead, event.detail, observation=observation)
    return ActivityTarget(transaction=row, product=row.product)


def _membership(active: bool) -> Applier:
    def apply(lead: Lead, event: WebhookEvent, observation: Observation) -> ActivityTarget:
        row = membership_access_set(lead, event.detail, active=active, observation=observation)
        level = row.level.name if row.level_id else None
        return ActivityTarget(details={"membership": row.membership.name, "level": level})

    return apply


def _product_signup(lead: Lead, event: WebhookEvent, observation: Observation) -> ActivityTarget:
    return ActivityTarget(product=product_resolve(event.detail))


def _calendar(status: str) -> Applier:
    def apply(lead: Lead, event: WebhookEvent, observation: Observation) -> ActivityTarget:
        row = calendar_subscription_upsert(
            lead, event.detail, status=status, observation=observation
        )
        klass = row.calendar_class.name if row.calendar_class_id else None
        return ActivityTarget(details={"calendar": row.calendar.name, "class": klass})

    return apply


def _survey(lead: Lead, event: WebhookEvent, observation: Observation) -> ActivityTarget:
    row = survey_result_upsert(lead, event.detail, observation=observation)
    score = str(row.score) if row.score is not None else None
    return ActivityTarget(details={"survey": row.survey.name, "score": score})


def _score(lead: Lead, event: WebhookEvent, observation: Observation) -> ActivityTarget:
    # ``points`` is the threshold the lead reached (001: "the points score number the lead
    # has reached"), not its score: the lead's score came with the delivery's lead block,
    # applied as its profile. The threshold belongs to the activity only.
    return ActivityTarget(points=event.detail)


APPLIERS: dict[str, Applier] = {
    "list_subscription": _relation(List, ListSubscription, "list", {"active": True}),
    "list_unsubscription": _relation(List, ListSubscription, "list", {"active": False}),
    "assign_tag": _relation(Tag, LeadTag, "tag", {"active": True}),
    "unassign_tag": _relation(Tag, LeadTag, "tag", {"active": False}),
    "filled_form": _asset(AssetKind.FORM),
    # A new subscription starts over; the step comes with the next get_lead snapshot.
    "sequence_subscription": _relation(
        Sequence, SequenceSubscription, "sequence", {"status": SequenceStatus.ACTIVE, "step": None}
    ),
    "sequence_unsubscription": _relation(
        Sequence, SequenceSubscription, "sequence", {"status": SequenceStatus.UNSUBSCRIBED}
    ),
    "sequence_completion": _relation(
        Sequence, SequenceSubscription, "sequence", {"status": SequenceStatus.COMPLETED}
    ),
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
    "affiliate_signup": _product_signup,
    "jv_signup": _product_signup,
    "kartra_page_visit": _asset(AssetKind.PAGE),
    "calendar_subscribe": _calendar(CalendarStatus.ACTIVE),
    "calendar_complete": _calendar(CalendarStatus.COMPLETED),
    "calendar_cancel": _calendar(CalendarStatus.CANCELLED),
    "survey_complete": _survey,
}
