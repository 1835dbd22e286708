"""A lead's state in the catalogues: one upsert per kind, shared by webhooks and snapshots.

Each write happens under the lead's row lock (see ``lead_lock``) and only when the
observation is not older than the one that last changed the row. A row that does not exist
is not created by an observation older than the ``get_lead`` snapshot that last replaced
its relation set: that snapshot listed the whole set, without this row.
"""

from datetime import datetime
from typing import Any

from django.db import IntegrityError, models, transaction

from leads.models import (
    Calendar,
    CalendarClass,
    CalendarEvent,
    CalendarSubscription,
    Lead,
    LeadTag,
    ListSubscription,
    Membership,
    MembershipAccess,
    MembershipLevel,
    PricePoint,
    Product,
    SequenceSubscription,
    Subscription,
    Survey,
    SurveyAnswer,
    SurveyOption,
    SurveyQuestion,
    SurveyResult,
    Transaction,
    TransactionType,
)
from leads.normalize import (
    CalendarRecord,
    MembershipRecord,
    ProductRef,
    SurveyRecord,
    TransactionRecord,
)

from .catalog import catalog_resolve
from .observation import Observation

#: The ``lead_details`` key (002) whose list is the whole truth about each kind of row.
#: Transactions are absent: money history is append-only, never replaced.
RELATION_SETS: dict[type[models.Model], str] = {
    LeadTag: "tags",
    ListSubscription: "lists",
    SequenceSubscription: "sequences",
    MembershipAccess: "memberships",
    CalendarSubscription: "calendars",
    SurveyResult: "surveys",
}


def lead_set_replaced_at(lead: Lead, key: str) -> datetime | None:
    """When the newest snapshot that listed the lead's relation set ``key`` (a
    ``lead_details`` key such as ``"tags"``) was requested, or None."""
    replaced = (lead.mirror_sets_replaced_at or {}).get(key)
    return datetime.fromisoformat(replaced) if replaced else None


def lead_sets_mark_replaced(lead: Lead, keys: list[str], *, at: datetime) -> None:
    """Record on ``lead`` (not saved) that a snapshot requested ``at`` replaced these sets;
    a later time already recorded stays."""
    replaced = dict(lead.mirror_sets_replaced_at or {})
    for key in keys:
        before = lead_set_replaced_at(lead, key)
        if before is None or before < at:
            replaced[key] = at.isoformat()
    lead.mirror_sets_replaced_at = replaced


def state_upsert(
    model: type[models.Model],
    *,
    lookup: dict[str, Any],
    values: dict[str, Any],
    observation: Observation,
) -> tuple[models.Model, bool]:
    """Create or update the row matching ``lookup`` unless a newer observation wrote it.

    Returns the row and whether this observation was applied. The row is locked before its
    ``observed_at`` is compared, so two writers of one row (a transaction or subscription
    that two leads' deliveries name, which the lead lock does not serialise) cannot both
    pass the check and let the older observation write last. A row of a lead's relation set
    (``RELATION_SETS``) that a newer snapshot replaced without it is not created: the row
    is returned unsaved (``pk`` None), for the caller to describe. Call inside a
    transaction, with the lead read under its lock.
    """
    rows = model.objects.select_for_update()
    row = rows.filter(**lookup).first()
    if row is None:
        lead = lookup.get("lead", values.get("lead"))
        key = RELATION_SETS.get(model)
        if key and lead and observation.is_older_than(lead_set_replaced_at(lead, key)):
            return model(**{**lookup, **values}), False
        try:
            with transaction.atomic():
                row = model.objects.create(**{**lookup, **values, **observation.fields()})
                return row, True
        except IntegrityError:
            row = rows.get(**lookup)
    if observation.is_older_than(row.observed_at):
        return row, False
    for key, value in {**values, **observation.fields()}.items():
        setattr(row, key, value)
    row.save()
    return row, True


def product_resolve(ref: ProductRef | None) -> Product | None:
    if ref is None or (ref.kartra_id is None and not ref.name):
        return None
    extra = {"official_name": ref.official_name} if ref.official_name else {}
    return catalog_resolve(Product, kartra_id=ref.kartra_id, name=ref.name, extra=extra)


def membership_access_set(
    lead: Lead, record: MembershipRecord, *, active: bool, observation: Observation
) -> MembershipAccess:
    """Grant or revoke a lead's access to a membership level."""
    membership = catalog_resolve(
        Membership, kartra_id=record.membership.kartra_id, name=record.membership.name
    )
    level = None
    if record.level is not None:
        level = catalog_resolve(
            MembershipLevel,
            kartra_id=record.level.kartra_id,
            name=record.level.name,
            scope={"membership": membership},
        )
    row, _ = state_upsert(
        MembershipAccess,
        lookup={"lead": lead, "membership": membership, "level": level},
        values={"active": active},
        observation=observation,
    )
    return row


def transaction_upsert(
    lead: Lead, record: TransactionRecord, *, observation: Observation
) -> Transaction:
    """Store a transaction by its Kartra id, linking product, price point, subscription and
    the transaction it refunds (or the refunds already seen that point at it)."""
    product = product_resolve(record.product)
    fields = dict(record.fields)
    if product is not None and fields.get("price_point"):
        PricePoint.objects.get_or_create(product=product, number=fields["price_point"])
    subscription = None
    if record.subscription_kartra_id is not None:
        subscription, _ = state_upsert(
            Subscription,
            lookup={"kartra_id": record.subscription_kartra_id},
            values={"lead": lead, "product": product},
            observation=observation,
        )
    parent_id = fields.get("parent_kartra_id")
    parent = Transaction.objects.filter(kartra_id=parent_id).first() if parent_id else None
    values = {
        **fields,
        "lead": lead,
        "product": product,
        "subscription": subscription,
        "parent": parent,
        "raw": record.raw,
    }
    row, applied = state_upsert(
        Transaction,
        lookup={"kartra_id": record.kartra_id},
        values=values,
        observation=observation,
    )
    if applied:
        Transaction.objects.filter(parent_kartra_id=row.kartra_id, parent__isnull=True).update(
            parent=row
        )
    if row.transaction_type == TransactionType.CANCELLATION and subscription is not None:
        Subscription.objects.filter(pk=subscription.pk).update(
            cancelled=True, cancelled_at=row.transaction_date or observation.at
        )
    return row


def calendar_subscription_upsert(
    lead: Lead, record: CalendarRecord, *, status: str | None, observation: Observation
) -> CalendarSubscription:
    """Store a lead's registration to a calendar class, with its hosts and events.

    Kartra's subscription id is the key when given; a webhook without one names the lead's
    registration to that class.
    """
    calendar = catalog_resolve(
        Calendar,
        kartra_id=record.calendar.kartra_id,
        name=record.calendar.name,
        extra={"vendor_id": record.vendor_id, "vendor_timezone": record.vendor_timezone},
    )
    klass = None
    if record.calendar_class is not None:
        klass = catalog_resolve(
            CalendarClass,
            kartra_id=record.calendar_class.kartra_id,
            name=record.calendar_class.name,
            scope={"calendar": calendar},
        )
    values: dict[str, Any] = {"lead": lead, "calendar": calendar, "calendar_class": klass}
    if status:
        values["status"] = status
    for key in ("vendor_id", "vendor_timezone", "ics_calendar_link"):
        if getattr(record, key):
            values[key] = getattr(record, key)
    if record.hosts:
        values["hosts"] = list(record.hosts)
    if record.subscription_kartra_id is not None:
        lookup = {"kartra_id": record.subscription_kartra_id}
    else:
        existing = (
            CalendarSubscription.objects.filter(lead=lead, calendar=calendar, calendar_class=klass)
            .order_by("-observed_at")
            .first()
        )
        lookup = (
            {"pk": existing.pk}
            if existing
            else {
                "lead": lead,
                "calendar": calendar,
                "calendar_class": klass,
                "kartra_id": None,
            }
        )
    values.setdefault("status", "Active")
    row, applied = state_upsert(
        CalendarSubscription, lookup=lookup, values=values, observation=observation
    )
    if applied and record.events:
        CalendarEvent.objects.filter(subscription=row).delete()
        CalendarEvent.objects.bulk_create(
            [
                CalendarEvent(subscription=row, starts_at=start, duration_minutes=minutes)
                for start, minutes in record.events
            ],
            ignore_conflicts=True,
        )
    return row


def survey_result_upsert(
    lead: Lead, record: SurveyRecord, *, observation: Observation
) -> SurveyResult:
    """Store a lead's result of a survey or quiz with each question's answers."""
    survey = catalog_resolve(
        Survey,
        kartra_id=record.survey.kartra_id,
        name=record.survey.name,
        extra={"survey_type": record.survey_type},
    )
    result, applied = state_upsert(
        SurveyResult,
        lookup={"lead": lead, "survey": survey},
        values={
            "score": record.score,
            "completion_time": record.completion_time,
            "completed_at": record.completed_at,
        },
        observation=observation,
    )
    if not applied:
        return result
    SurveyAnswer.objects.filter(result=result).delete()
    for answer in record.answers:
        question, _ = SurveyQuestion.objects.update_or_create(
            survey=survey,
            kartra_id=answer.question_kartra_id,
            defaults={"title": answer.question_title},
        )
        row = SurveyAnswer.objects.create(result=result, question=question, correct=answer.correct)
        options = [
            SurveyOption.objects.update_or_create(
                question=question, kartra_id=o.kartra_id, defaults={"value": o.value}
            )[0]
            for o in answer.options
        ]
        row.options.set(options)
    return result
