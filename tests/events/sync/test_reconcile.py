"""Catalogue rows named by the catalogue calls, by snapshots (names only) and by webhooks
(ids and names) end up as one row each, keeping the ids; a rename is followed."""

import pytest

from events.sync.refresh import sync_leads
from leads.models import (
    Asset,
    AssetKind,
    CustomField,
    LeadTag,
    List,
    Membership,
    MembershipAccess,
    MembershipLevel,
    Sequence,
    Tag,
)
from leads.services.catalog_sync import catalog_sync
from leads.services.sync import Target

pytestmark = pytest.mark.django_db


def live_leads(account, n=2):
    return [lead for lead in account.leads.values() if not lead.deleted][:n]


def tag_links(lead_id: int) -> dict[str, bool]:
    rows = LeadTag.objects.filter(lead__kartra_id=lead_id).select_related("tag")
    return {row.tag.name: row.active for row in rows}


def test_catalogue_sync_stores_every_catalogue(kartra, fake):
    counts = catalog_sync(kartra)

    account = fake.account
    assert counts == {
        "tags": len(account.tags), "lists": len(account.lists),
        "sequences": len(account.sequences), "custom_fields": len(account.custom_fields),
        "pages": len(account.pages),
    }  # fmt: skip
    assert set(Tag.objects.values_list("name", flat=True)) == {
        t.name for t in account.tags.values()
    }
    assert not Tag.objects.filter(kartra_id__isnull=False).exists()  # names only
    color = CustomField.objects.get(identifier="color")
    assert (color.kartra_id, color.field_type) == (323, "checkbox")
    assert sorted(color.options.values_list("kartra_id", "value")) == [
        (1, "red"), (2, "blue"), (3, "green"),
    ]  # fmt: skip
    pages = Asset.objects.filter(kind=AssetKind.PAGE)
    assert sorted(pages.values_list("kartra_id", "name")) == sorted(
        (p.id, p.name) for p in account.pages.values()
    )
    assert catalog_sync(kartra) == counts  # idempotent
    assert Tag.objects.count() == len(account.tags)


def test_names_from_the_catalogue_are_claimed_by_webhook_ids(kartra, fake, deliver):
    account = fake.account
    catalog_sync(kartra)
    lead = live_leads(account, 1)[0]
    deliver(account.assign_tag(lead.id, 101))
    deliver(account.list_subscription(lead.id, 201))
    deliver(account.sequence_subscription(lead.id, 305))

    for model, kartra_id, name in ((Tag, 101, "Customer"), (List, 201, "Newsletter"),
                                   (Sequence, 305, "Launch sequence")):  # fmt: skip
        assert model.objects.filter(name=name).count() == 1
        assert model.objects.get(name=name).kartra_id == kartra_id

    catalog_sync(kartra)  # names only again: the ids stay
    sync_leads([Target(kartra_id=lead.id)], client=kartra)  # names only in the snapshot
    assert Tag.objects.count() == len(account.tags)
    assert Tag.objects.get(kartra_id=101).name == "Customer"
    assert tag_links(lead.id)["Customer"] is True
    assert LeadTag.objects.get(lead__kartra_id=lead.id, tag__name="Customer").tag.kartra_id == 101


def test_webhook_membership_ids_are_kept_by_snapshots(kartra, fake, deliver):
    account = fake.account
    lead = live_leads(account, 1)[0]
    deliver(account.membership_granted(lead.id, 402, 4202))
    sync_leads([Target(kartra_id=lead.id)], client=kartra)

    access = MembershipAccess.objects.get(lead__kartra_id=lead.id, membership__kartra_id=402)
    assert (access.level.kartra_id, access.level.name, access.active) == (
        4202,
        "Inner circle",
        True,
    )
    assert Membership.objects.filter(name="Coaching Club").count() == 1
    assert MembershipLevel.objects.filter(name="Inner circle").count() == 1


def test_a_rename_is_followed_and_the_rows_merge(kartra, fake, deliver):
    account = fake.account
    first, second = live_leads(account, 2)
    account.tags[101].name = "Old name"
    deliver(account.assign_tag(first.id, 101))
    assert Tag.objects.get(kartra_id=101).name == "Old name"

    account.tags[101].name = "New name"  # renamed in Kartra
    sync_leads([Target(kartra_id=first.id)], client=kartra)
    # The snapshot names the tag by its new name only: an id-less row carries it.
    assert tag_links(first.id)["Old name"] is False
    assert tag_links(first.id)["New name"] is True

    deliver(account.assign_tag(second.id, 101))  # the id arrives with the new name
    assert Tag.objects.filter(name="New name").count() == 2

    catalog_sync(kartra)  # folds the id-less row into the row with the id

    assert list(Tag.objects.filter(name="New name").values_list("kartra_id", flat=True)) == [101]
    assert not Tag.objects.filter(name="Old name").exists()
    assert tag_links(first.id)["New name"] is True
    assert tag_links(second.id)["New name"] is True
    sync_leads([Target(kartra_id=first.id), Target(kartra_id=second.id)], client=kartra)
    assert tag_links(first.id)["New name"] is True
    assert Tag.objects.filter(name="New name").count() == 1


def test_a_failed_refresh_logs_no_email(kartra, fake, monkeypatch, caplog):
    from leads.services import settle

    lead = live_leads(fake.account, 1)[0]

    def broken(*args, **kwargs):
        raise ValueError(f"cannot store {lead.email}")

    monkeypatch.setattr(settle, "snapshots_apply", broken)
    run = sync_leads([Target(email=lead.email)], client=kartra)

    assert run.leads_failed == 1
    assert lead.email in run.errors[0]["error"]  # the run says what failed, in full
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "refreshing a lead known by email failed: ValueError" in logged
    assert lead.email not in logged.lower() and lead.email not in logged
