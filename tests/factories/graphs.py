"""Compositions of the factories for pages that show many models at once: a lead with ``n``
rows in every relation its page shows, and the runs, deliveries and erasures beside it.
Kartra ids come from :func:`next_id` and names carry the lead, so graphs never collide."""

import itertools
import json
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

from django.utils import timezone

from events.models import AuditRun, Delivery, DeliveryStatus, DriftCause, Erasure, SyncRun
from leads.models import FieldType, Lead, Product, SequenceStatus, Source, Tag, TransactionType
from leads.services.suppression import suppression_add

from . import events as ef
from . import leads as lf

_ids = itertools.count(1000)


def next_id() -> int:
    return next(_ids)


def observed() -> dict:
    """Seen now, by a webhook: the ``Observed`` fields of a relation row."""
    return {"observed_at": timezone.now(), "observed_source": Source.WEBHOOK}


@dataclass
class LeadGraph:
    lead: Lead
    tags: list[Tag]
    products: list[Product]


def make_lead(**fields) -> Lead:
    """Ada Lovelace<id>, from the API, joined two days ago; ``fields`` override."""
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
    return lf.LeadFactory(kartra_id=kartra_id, **defaults)


def make_lead_graph(n: int, **lead_fields) -> LeadGraph:
    """A lead with ``n`` rows in every relation the lead page shows."""
    lead = make_lead(**lead_fields)
    tags, products = [], []
    for i in range(n):
        tag = lf.TagFactory(kartra_id=next_id(), name=f"Tag {lead.kartra_id}-{i}")
        tags.append(tag)
        lf.LeadTagFactory(lead=lead, tag=tag, active=i % 5 != 4, **observed())
        mailing_list = lf.ListFactory(kartra_id=next_id(), name=f"List {lead.pk}-{i}")
        lf.ListSubscriptionFactory(lead=lead, list=mailing_list, **observed())
        sequence = lf.SequenceFactory(kartra_id=next_id(), name=f"Sequence {lead.pk}-{i}")
        lf.SequenceSubscriptionFactory(
            lead=lead, sequence=sequence, step=i, status=SequenceStatus.ACTIVE, **observed()
        )
        membership = lf.MembershipFactory(kartra_id=next_id(), name=f"Club {lead.pk}-{i}")
        level = lf.MembershipLevelFactory(membership=membership, kartra_id=1, name="Gold")
        lf.MembershipAccessFactory(lead=lead, membership=membership, level=level, **observed())
        field = lf.CustomFieldFactory(
            kartra_id=next_id(),
            identifier=f"field_{lead.pk}_{i}",
            field_type=FieldType.CHECKBOX if i % 2 else FieldType.INPUT_FIELD,
        )
        value = lf.CustomFieldValueFactory(
            lead=lead, field=field, text="" if i % 2 else f"text {i}", **observed()
        )
        if i % 2:
            option = lf.CustomFieldOptionFactory(field=field, kartra_id=1, value=f"opt {i}")
            value.options.add(option)
        product = lf.ProductFactory(kartra_id=next_id(), name=f"Product {lead.pk}-{i}")
        products.append(product)
        lf.PricePointFactory(product=product, number="1")
        if i == 0:
            lf.ProductSignupFactory(
                lead=lead,
                product=product,
                kind="affiliate",
                signed_up_at=timezone.now() - timedelta(days=2),
                **observed(),
            )
        subscription = lf.SubscriptionFactory(
            kartra_id=next_id(), lead=lead, product=product, **observed()
        )
        sale = lf.TransactionFactory(
            kartra_id=next_id(),
            lead=lead,
            product=product,
            transaction_type=TransactionType.SALE,
            transaction_date=timezone.now() - timedelta(days=1),
            amount=Decimal("100.00"),
            subscription=subscription,
            raw={"transaction_id": "1"},
            **observed(),
        )
        lf.TransactionFactory(
            kartra_id=next_id(),
            lead=lead,
            product=product,
            transaction_type=TransactionType.REFUND,
            transaction_date=timezone.now() - timedelta(hours=20),
            amount=Decimal("30.00"),
            parent=sale,
            **observed(),
        )
        calendar = lf.CalendarFactory(kartra_id=next_id(), name=f"Calendar {lead.pk}-{i}")
        calendar_class = lf.CalendarClassFactory(calendar=calendar, kartra_id=1, name="Coaching")
        calendar_subscription = lf.CalendarSubscriptionFactory(
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
        lf.CalendarEventFactory(
            subscription=calendar_subscription,
            starts_at=timezone.now() + timedelta(days=3),
            duration_minutes=45,
        )
        survey = lf.SurveyFactory(kartra_id=next_id(), name=f"Survey {lead.pk}-{i}")
        question = lf.SurveyQuestionFactory(survey=survey, kartra_id=1, title=f"Question {i}?")
        option = lf.SurveyOptionFactory(question=question, kartra_id=1, value=f"Answer {i}")
        result = lf.SurveyResultFactory(
            lead=lead, survey=survey, score=Decimal("5"), completed_at=timezone.now(), **observed()
        )
        lf.SurveyAnswerFactory(result=result, question=question, correct=1, options=[option])
        asset = lf.AssetFactory(kartra_id=next_id(), name=f"Page {i}")
        delivery = make_delivery(lead=lead, action="lead_visits_page")
        ef.ActivityFactory(
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
        lf.ChangeFactory(
            lead=lead,
            name=tag.name,
            old=None,
            new="assigned",
            observed_at=timezone.now() - timedelta(minutes=i),
            ref=delivery.pk,
        )
    return LeadGraph(lead=lead, tags=tags, products=products)


def make_delivery(*, lead: Lead | None = None, action: str = "buy_product", **fields) -> Delivery:
    """A processed delivery of ``action`` (a stub body naming the lead)."""
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
        "attempts": 0,
        "action": action,
        "lead": lead,
        "lead_kartra_id": lead.kartra_id if lead else None,
        "headers": {"Content-Type": "application/json"},
    }
    defaults.update(fields)
    return ef.DeliveryFactory(**defaults)


def make_sync_run(**fields) -> SyncRun:
    """A finished refresh of 40 leads that was throttled twice and hit one error."""
    defaults = {
        "started_at": timezone.now() - timedelta(minutes=5),
        "finished_at": timezone.now(),
        "leads_refreshed": 40,
        "api_calls": 42,
        "throttled": 2,
        "errors": [{"lead": 1, "error": "timeout"}],
    }
    defaults.update(fields)
    return ef.SyncRunFactory(**defaults)


def make_audit_run(lead: Lead | None = None, **fields) -> AuditRun:
    """A finished audit of 50 leads; with ``lead``, one difference of that lead."""
    found = {
        "leads_differing": 1 if lead else 0,
        "differences_found": 1 if lead else 0,
        "causes": {DriftCause.MISSED_WEBHOOK: 1} if lead else {},
    }
    run = ef.AuditRunFactory(**{**found, **fields})
    if lead is not None:
        ef.AuditDifferenceFactory(run=run, lead=lead)
    return run


def make_erasure() -> Erasure:
    """An erasure's record and its two suppressions, as ``kartra_erase`` leaves them."""
    suppression_add(emails=[f"erased{next_id()}@example.com"], kartra_ids=[next_id()])
    return ef.ErasureFactory()
