"""Builders for the admin tests: a lead with ``n`` of every relation, and one row of every
model, made with the ORM so the admin is exercised on the shapes the mirror writes."""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from events.models import (
    Activity,
    AuditDifference,
    AuditRun,
    Delivery,
    DeliveryStatus,
    DriftCause,
    Erasure,
    SyncRun,
    SyncRunStatus,
)
from leads.models import (
    Asset,
    AssetKind,
    Calendar,
    CalendarClass,
    CalendarEvent,
    CalendarSubscription,
    Change,
    ChangeKind,
    CustomField,
    CustomFieldOption,
    CustomFieldValue,
    FieldType,
    Lead,
    LeadTag,
    List,
    ListSubscription,
    Membership,
    MembershipAccess,
    MembershipLevel,
    PricePoint,
    Product,
    ProductSignup,
    Segment,
    Sequence,
    SequenceStatus,
    SequenceSubscription,
    Source,
    Subscription,
    Survey,
    SurveyAnswer,
    SurveyOption,
    SurveyQuestion,
    SurveyResult,
    Tag,
    Transaction,
    TransactionType,
)
from leads.services.suppression import suppression_add

_ids = itertools.count(1000)


def next_id() -> int:
    return next(_ids)


def observed() -> dict:
    return {"observed_at": timezone.now(), "observed_source": Source.WEBHOOK}


@dataclass
class LeadGraph:
    lead: Lead
    tags: list[Tag]
    products: list[Product]


def make_lead(**fields) -> Lead:
    kartra_id = fields.pop("kartra_id", next_id())
    defaults = {
        "email": f"lead{kartra_id}@example.com",
        "first_name": "Ada",
        "last_name": f"Lovelace{kartra_id}",
        "phone": f"555{kartra_id:07d}",
        "source": "api",
        "score": 10,
        "date_joined": timezone.now() - timedelta(days=2),
        "mirror_raw": {"id": str(kartra_id), "email": f"lead{kartra_id}@example.com"},
    }
    defaults.update(fields)
    return Lead.objects.create(kartra_id=kartra_id, **defaults)


def make_lead_graph(n: int, **lead_fields) -> LeadGraph:
    """A lead with ``n`` rows in every relation the lead page shows."""
    lead = make_lead(**lead_fields)
    tags, products = [], []
    for i in range(n):
        tag = Tag.objects.create(kartra_id=next_id(), name=f"Tag {lead.kartra_id}-{i}")
        tags.append(tag)
        LeadTag.objects.create(lead=lead, tag=tag, active=i % 5 != 4, **observed())
        mailing_list = List.objects.create(kartra_id=next_id(), name=f"List {lead.pk}-{i}")
        ListSubscription.objects.create(lead=lead, list=mailing_list, **observed())
        sequence = Sequence.objects.create(kartra_id=next_id(), name=f"Sequence {lead.pk}-{i}")
        SequenceSubscription.objects.create(
            lead=lead, sequence=sequence, step=i, status=SequenceStatus.ACTIVE, **observed()
        )
        membership = Membership.objects.create(kartra_id=next_id(), name=f"Club {lead.pk}-{i}")
        level = MembershipLevel.objects.create(membership=membership, kartra_id=1, name="Gold")
        MembershipAccess.objects.create(lead=lead, membership=membership, level=level, **observed())
        field = CustomField.objects.create(
            kartra_id=next_id(),
            identifier=f"field_{lead.pk}_{i}",
            field_type=FieldType.CHECKBOX if i % 2 else FieldType.INPUT_FIELD,
        )
        value = CustomFieldValue.objects.create(
            lead=lead, field=field, text="" if i % 2 else f"text {i}", **observed()
        )
        if i % 2:
            option = CustomFieldOption.objects.create(field=field, kartra_id=1, value=f"opt {i}")
            value.options.add(option)
        product = Product.objects.create(kartra_id=next_id(), name=f"Product {lead.pk}-{i}")
        products.append(product)
        PricePoint.objects.create(product=product, number="1")
        if i == 0:
            ProductSignup.objects.create(
                lead=lead,
                product=product,
                kind="affiliate",
                signed_up_at=timezone.now() - timedelta(days=2),
                **observed(),
            )
        subscription = Subscription.objects.create(
            kartra_id=next_id(), lead=lead, product=product, **observed()
        )
        sale = Transaction.objects.create(
            kartra_id=next_id(),
            lead=lead,
            product=product,
            transaction_type=TransactionType.SALE,
            transaction_date=timezone.now() - timedelta(days=1),
            full_amount=Decimal("100.00"),
            subscription=subscription,
            raw={"transaction_id": "1"},
            **observed(),
        )
        Transaction.objects.create(
            kartra_id=next_id(),
            lead=lead,
            product=product,
            transaction_type=TransactionType.REFUND,
            transaction_date=timezone.now() - timedelta(hours=20),
            full_amount=Decimal("30.00"),
            parent=sale,
            **observed(),
        )
        calendar = Calendar.objects.create(kartra_id=next_id(), name=f"Calendar {lead.pk}-{i}")
        calendar_class = CalendarClass.objects.create(
            calendar=calendar, kartra_id=1, name="Coaching"
        )
        calendar_subscription = CalendarSubscription.objects.create(
            kartra_id=next_id(),
            lead=lead,
            calendar=calendar,
            calendar_class=calendar_class,
            status="Active",
            hosts=[
                {
                    "host_first_name": "Grace",
                    "host_last_name": "Hopper",
                    "host_email_address": "grace@example.com",
                }
            ],
            **observed(),
        )
        CalendarEvent.objects.create(
            subscription=calendar_subscription,
            starts_at=timezone.now() + timedelta(days=3),
            duration_minutes=45,
        )
        survey = Survey.objects.create(kartra_id=next_id(), name=f"Survey {lead.pk}-{i}")
        question = SurveyQuestion.objects.create(survey=survey, kartra_id=1, title=f"Question {i}?")
        option = SurveyOption.objects.create(question=question, kartra_id=1, value=f"Answer {i}")
        result = SurveyResult.objects.create(
            lead=lead, survey=survey, score=Decimal("5"), completed_at=timezone.now(), **observed()
        )
        answer = SurveyAnswer.objects.create(result=result, question=question, correct=1)
        answer.options.add(option)
        asset = Asset.objects.create(kind=AssetKind.PAGE, kartra_id=next_id(), name=f"Page {i}")
        delivery = make_delivery(lead=lead, action="lead_visits_page")
        Activity.objects.create(
            lead=lead,
            action="lead_visits_page",
            occurred_at=timezone.now() - timedelta(minutes=i),
            asset=asset,
            product=product,
            transaction=sale,
            points=i,
            details={"page": i},
            delivery=delivery,
        )
        Change.objects.create(
            lead=lead,
            kind=ChangeKind.TAG,
            name=tag.name,
            old=None,
            new="assigned",
            observed_at=timezone.now() - timedelta(minutes=i),
            source=Source.WEBHOOK,
            ref=delivery.pk,
            recorded_at=timezone.now(),
        )
    return LeadGraph(lead=lead, tags=tags, products=products)


def make_delivery(*, lead: Lead | None = None, action: str = "buy_product", **fields) -> Delivery:
    body = fields.pop(
        "body",
        json.dumps({"lead": {"id": lead.kartra_id if lead else 1}, "action": action}).encode(),
    )
    defaults = {
        "received_at": timezone.now(),
        "body": body,
        "body_sha256": f"{next_id():064d}",
        "size": len(body or b""),
        "status": DeliveryStatus.PROCESSED,
        "action": action,
        "lead": lead,
        "lead_kartra_id": lead.kartra_id if lead else None,
        "headers": {"Content-Type": "application/json"},
    }
    defaults.update(fields)
    return Delivery.objects.create(**defaults)


def make_sync_run(**fields) -> SyncRun:
    defaults = {
        "kind": "refresh",
        "started_at": timezone.now() - timedelta(minutes=5),
        "finished_at": timezone.now(),
        "status": SyncRunStatus.SUCCEEDED,
        "leads_refreshed": 40,
        "api_calls": 42,
        "throttled": 2,
        "errors": [{"lead": 1, "error": "timeout"}],
    }
    defaults.update(fields)
    return SyncRun.objects.create(**defaults)


def make_audit_run(lead: Lead | None = None, **fields) -> AuditRun:
    """A finished audit of 50 leads; with ``lead``, one difference of that lead."""
    defaults = {
        "kind": "daily",
        "started_at": timezone.now() - timedelta(minutes=5),
        "finished_at": timezone.now(),
        "heartbeat_at": timezone.now(),
        "status": SyncRunStatus.SUCCEEDED,
        "leads_compared": 50,
        "leads_differing": 1 if lead else 0,
        "differences_found": 1 if lead else 0,
        "causes": {DriftCause.MISSED_WEBHOOK: 1} if lead else {},
        "api_calls": 50,
    }
    run = AuditRun.objects.create(**{**defaults, **fields})
    if lead is not None:
        AuditDifference.objects.create(
            run=run,
            lead=lead,
            lead_kartra_id=lead.kartra_id,
            relation="tag",
            name="VIP",
            mirror_value=None,
            kartra_value="assigned",
            cause=DriftCause.MISSED_WEBHOOK,
        )
    return run


@pytest.fixture(autouse=True)
def fast_password_hasher(settings):
    # The superuser fixtures hash a password; the default hasher takes a second each time.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def empty_cache():
    # The dashboard keeps past days in the cache; each test starts without them.
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def lead_graph(db) -> LeadGraph:
    return make_lead_graph(2)


@pytest.fixture
def every_model(db) -> LeadGraph:
    """At least one row of every registered model."""
    graph = make_lead_graph(2)
    make_sync_run()
    make_audit_run(graph.lead)
    make_delivery(lead=None, action="", status=DeliveryStatus.REJECTED, body=b"{not json,}")
    Segment.objects.create(name="Tagged", filters=f"tag={graph.tags[0].pk}", shared=True)
    make_erasure()
    return graph


def make_erasure() -> Erasure:
    """An erasure's record and its two suppressions, as ``kartra_erase`` leaves them."""
    suppression_add(emails=[f"erased{next_id()}@example.com"], kartra_ids=[next_id()])
    return Erasure.objects.create(
        erased_at=timezone.now(), actor="os:ops", lead_found=True, counts={"leads.Lead": 1}
    )
