"""``kartra_sync``: every selection flag, dry runs, failures and the SyncRun records."""

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from events.models import SyncRun, SyncRunStatus
from leads.models import Lead, MirrorStatus, Tag

pytestmark = pytest.mark.django_db


def sync(*args: str) -> str:
    out, err = StringIO(), StringIO()
    call_command("kartra_sync", *args, stdout=out, stderr=err)
    return out.getvalue() + err.getvalue()


def live_ids(account, n: int) -> list[int]:
    return [lead.id for lead in account.leads.values() if not lead.deleted][:n]


@pytest.fixture
def ready(fake, fast_client):
    fake.reset()
    return fake


def test_catalog_only(ready):
    output = sync("--catalog")

    run = SyncRun.objects.get()
    assert (run.kind, run.status) == ("catalog", SyncRunStatus.SUCCEEDED)
    assert run.arguments["catalog"]["tags"] == len(ready.account.tags)
    assert run.api_calls == 5 and ready.calls["get_lead"] == 0
    assert Tag.objects.count() == len(ready.account.tags)
    assert "Catalogues: " in output and "succeeded" in output


def test_by_email_and_ids_repeatable_and_comma_separated(ready):
    first, second, third = live_ids(ready.account, 3)
    email = ready.account.lead(third).email.upper()

    output = sync("--id", f"{first},{second}", "--email", email, "--no-catalog")

    run = SyncRun.objects.get()
    assert (run.kind, run.leads_refreshed, run.api_calls) == ("leads", 3, 3)
    assert run.arguments["ids"] == [f"{first},{second}"]
    assert set(Lead.objects.values_list("kartra_id", flat=True)) == {first, second, third}
    assert ready.calls["get_lead"] == 3
    assert "Refreshing 3 leads" in output and "3 refreshed" in output

    sync("--id", str(first), "--no-catalog")  # same answer again
    assert SyncRun.objects.latest("pk").leads_unchanged == 1


def test_all_with_limit_syncs_the_catalogue_first(ready):
    Lead.objects.bulk_create([Lead(kartra_id=i) for i in live_ids(ready.account, 6)])

    sync("--all", "--limit", "4")

    run = SyncRun.objects.get()
    assert (run.kind, run.leads_refreshed) == ("all", 4)
    assert ready.calls["get_lead"] == 4 and ready.calls["retrieve_account_tags"] == 1
    assert run.api_calls == 9 and run.arguments["limit"] == 4


def test_stale_and_due(ready):
    ids = live_ids(ready.account, 4)
    now = timezone.now()
    Lead.objects.create(kartra_id=ids[0], mirror_refreshed_at=now - timedelta(hours=13))
    Lead.objects.create(kartra_id=ids[1], mirror_refreshed_at=now - timedelta(hours=1))
    Lead.objects.create(kartra_id=ids[2])  # never refreshed
    Lead.objects.create(kartra_id=ids[3], mirror_refreshed_at=now, mirror_refresh_requested_at=now)

    sync("--stale", "12h", "--no-catalog")
    assert SyncRun.objects.get(kind="stale").leads_refreshed == 2
    assert ready.calls["get_lead"] == 2

    sync("--due", "--no-catalog")
    run = SyncRun.objects.get(kind="due")
    assert run.leads_refreshed == 1  # only the requested one: the others are fresh now
    assert Lead.objects.get(kartra_id=ids[3]).mirror_refresh_requested_at is None

    with pytest.raises(CommandError, match="not an age"):
        sync("--stale", "soon")


def test_dry_run_calls_nothing(ready):
    Lead.objects.create(kartra_id=live_ids(ready.account, 1)[0])

    output = sync("--all", "--dry-run")

    assert "Would refresh 1 leads (all)" in output and "Would sync the catalogues" in output
    assert sum(ready.calls.values()) == 0
    assert not SyncRun.objects.exists()


def test_a_failed_lead_makes_the_command_fail(ready):
    ids = live_ids(ready.account, 1)
    ready.inject("garbage", "garbage", "garbage", "garbage")  # every try of one call

    with pytest.raises(CommandError, match="1 leads failed"):
        sync("--id", f"{ids[0]},999999", "--no-catalog", "--workers", "1")

    run = SyncRun.objects.get()
    assert (run.status, run.leads_failed, run.leads_not_found) == (SyncRunStatus.PARTIAL, 1, 1)
    assert run.retries == 3 and run.api_calls == 5
    assert run.errors[0]["target"] == f"lead {ids[0]}"
    assert "UnexpectedAnswer" in run.errors[0]["error"]


def test_throttling_is_counted(ready):
    ready.inject("429", "429")
    sync("--id", str(live_ids(ready.account, 1)[0]), "--no-catalog")
    run = SyncRun.objects.get()
    assert (run.leads_refreshed, run.throttled, run.retries, run.api_calls) == (1, 2, 2, 3)


def test_refused_credentials_stop_the_run(ready, settings):
    settings.KARTRA_API_KEY = "wrong"
    Lead.objects.bulk_create([Lead(kartra_id=i) for i in live_ids(ready.account, 3)])

    with pytest.raises(CommandError, match="stopped: Kartra refused the credentials"):
        sync("--all")

    run = SyncRun.objects.get()
    assert run.status == SyncRunStatus.FAILED
    assert ready.calls["get_lead"] == 0  # the catalogue call already showed it
    assert not Lead.objects.filter(mirror_status=MirrorStatus.NOT_FOUND).exists()


def test_selection_is_required_and_exclusive(ready):
    with pytest.raises(CommandError, match="say what to sync"):
        sync()
    with pytest.raises(CommandError, match="choose one of"):
        sync("--id", "1", "--due")


def test_terminal_gets_a_progress_bar(ready, monkeypatch):
    class Terminal(StringIO):
        def isatty(self) -> bool:
            return True

    out = Terminal()
    call_command("kartra_sync", "--id", str(live_ids(ready.account, 1)[0]), "--no-catalog",
                 stdout=out)  # fmt: skip
    assert "Refreshing 1 leads" not in out.getvalue()  # the bar, not log lines
    assert "1 refreshed" in out.getvalue()


def test_missing_credentials_are_named(settings):
    settings.KARTRA_APP_ID = ""
    with pytest.raises(CommandError, match="credentials are not configured"):
        sync("--catalog")
