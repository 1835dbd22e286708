"""The normaliser's field tables agree with leads.models (names and column sizes).

The normaliser does not import the models (it stays free of Django settings), so these
tests are what keep its hard-coded sizes honest.
"""

from __future__ import annotations

import pytest
from django.db import models

from leads.models import Lead, Transaction, TransactionType
from leads.normalize import (
    customfields,
    details,
    parse_lead_details,
    parse_webhook,
    profile,
    transaction,
)
from leads.normalize import snapshot as lead_details

from ._support import fixture_json, webhook_bytes


def model_fields(model):
    return {field.name: field for field in model._meta.get_fields() if hasattr(field, "column")}


@pytest.mark.parametrize(("key", "max_length"), sorted(profile.TEXT_FIELDS.items()))
def test_profile_text_fields_match_lead(key, max_length):
    field = model_fields(Lead)[key]
    if max_length is None:
        assert isinstance(field, models.TextField)
    else:
        assert field.max_length == max_length


@pytest.mark.parametrize(("name", "max_length"), sorted(transaction.TEXT_FIELDS.values()))
def test_transaction_text_fields_match_transaction(name, max_length):
    assert model_fields(Transaction)[name].max_length == max_length


def test_transaction_types_match_the_model():
    assert set(transaction.TRANSACTION_TYPES.values()) == set(TransactionType.values)


def test_profile_fields_are_lead_fields():
    lead_fields = model_fields(Lead)
    snapshot = parse_lead_details(fixture_json("002_get_lead_success.json"))
    webhook = parse_webhook(webhook_bytes("membership_granted"))
    for fields in (snapshot.profile.fields, webhook.lead.fields):
        assert set(fields) <= set(lead_fields)


def test_transaction_fields_are_transaction_fields():
    txn_fields = set(model_fields(Transaction))
    for action in ("buy_product", "refund_product", "cancel_subscription"):
        assert set(parse_webhook(webhook_bytes(action)).detail.fields) <= txn_fields
    snapshot = parse_lead_details(fixture_json("002_get_lead_success.json"))
    assert set(snapshot.transactions[0].fields) <= txn_fields
    assert {name for name, _ in transaction._CONVERTED.values()} <= txn_fields
    assert set(transaction.AMOUNT_FIELDS.values()) <= txn_fields


@pytest.mark.parametrize(
    ("model", "name", "max_length"),
    [
        ("CalendarSubscription", "status", details.CALENDAR_STATUS_MAX),
        ("Survey", "survey_type", details.SURVEY_TYPE_MAX),
        ("SequenceSubscription", "status", lead_details.SEQUENCE_STATUS_MAX),
        ("Transaction", "transaction_type", transaction.TRANSACTION_TYPE_MAX),
        ("CustomField", "field_type", customfields.FIELD_TYPE_MAX),
    ],
)
def test_enumeration_columns_take_any_value_the_normaliser_keeps(model, name, max_length):
    # Kartra's enumerations are kept as sent when unknown: no choices, room for the value.
    from django.apps import apps

    field = model_fields(apps.get_model("leads", model))[name]
    assert field.max_length == max_length
    assert not field.choices
