"""Consent read one way: ``gdpr_lead_communications`` means "agreed" as 0 in a webhook's lead
block and as 1 in get_lead's; ``Lead.consent`` says what it meant, whoever sent it last."""

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from events.services import deliveries_process_batch
from leads.models import Consent, Lead, Source
from tests.payloads import body, example_details

from ._helpers import at, snapshot, store


def _details(agreed_as: str) -> dict:
    return example_details(id="7", email="c@example.com", calendars=[], surveys=[],
                           transactions=[], gdpr_lead_communications=agreed_as)  # fmt: skip


def consent_of_lead() -> tuple[str, str, int | None]:
    return Lead.objects.values_list("consent", "consent_source", "gdpr_lead_communications").get(
        kartra_id=7
    )


@pytest.mark.parametrize(
    ("raw", "source", "expected"),
    [
        (0, Source.WEBHOOK, Consent.AGREED),
        (1, Source.WEBHOOK, Consent.NOT_AGREED),
        (1, Source.SNAPSHOT, Consent.AGREED),
        (0, Source.SNAPSHOT, Consent.NOT_AGREED),
        (None, Source.WEBHOOK, Consent.UNKNOWN),
        (2, Source.SNAPSHOT, Consent.UNKNOWN),
        (0, Source.IMPORT, Consent.UNKNOWN),  # a source with no documented convention
    ],
)
def test_each_source_is_read_by_its_own_convention(raw, source, expected):
    assert Consent.of(raw, source) == expected


@pytest.mark.django_db
def test_the_same_consent_keeps_its_meaning_across_webhooks_and_snapshots():
    store(body("assign_tag", lead_id=7, email="c@example.com", gdpr_lead_communications=0), at(0))
    assert deliveries_process_batch() == 1
    assert consent_of_lead() == ("agreed", "webhook", 0)

    snapshot(_details("1"), at(5))  # get_lead's 1: the same consent
    assert consent_of_lead() == ("agreed", "snapshot", 1)

    store(body("assign_tag", lead_id=7, email="c@example.com", gdpr_lead_communications=1), at(9))
    assert deliveries_process_batch() == 1
    assert consent_of_lead() == ("not_agreed", "webhook", 1)

    snapshot(_details("N/A"), at(12))  # nothing said: unknown, the raw value empty
    assert consent_of_lead() == ("unknown", "snapshot", None)


@pytest.mark.django_db
def test_a_block_without_the_key_leaves_consent_alone():
    snapshot(_details("1"), at(0))
    details = _details("1")
    del details["gdpr_lead_communications"]
    snapshot(details, at(5))
    assert consent_of_lead() == ("agreed", "snapshot", 1)


@pytest.mark.django_db(transaction=True)
def test_0008_reads_existing_leads_by_the_source_of_their_last_profile():
    executor = MigrationExecutor(connection)
    executor.migrate([("leads", "0007_custom_value_index")])
    old = (
        MigrationExecutor(connection)
        .loader.project_state([("leads", "0007_custom_value_index")])
        .apps
    )
    OldLead = old.get_model("leads", "Lead")
    for kartra_id, source, raw in (
        (1, "webhook", 0), (2, "webhook", 1), (3, "snapshot", 1), (4, "snapshot", 0),
        (5, "snapshot", None), (6, "", 0), (7, "webhook", 5),
    ):  # fmt: skip
        OldLead.objects.create(
            kartra_id=kartra_id, mirror_raw_source=source, gdpr_lead_communications=raw
        )
    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())

    read = {
        k: (c, s) for k, c, s in Lead.objects.values_list("kartra_id", "consent", "consent_source")
    }
    assert read == {
        1: ("agreed", "webhook"),
        2: ("not_agreed", "webhook"),
        3: ("agreed", "snapshot"),
        4: ("not_agreed", "snapshot"),
        5: ("unknown", ""),
        6: ("unknown", ""),
        7: ("unknown", "webhook"),
    }
