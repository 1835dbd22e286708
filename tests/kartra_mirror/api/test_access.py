"""Who may read each endpoint, and that nothing can be written."""

import pytest

from kartra_mirror.api.urls import router
from tests import factories as f

from .conftest import API, token_client

pytestmark = pytest.mark.django_db


def by_kartra_id(row) -> str:
    return str(row.kartra_id)


def by_mirror_key(row) -> str:
    return f"mirror-{row.pk}"


def by_own_id(row) -> str:
    return str(row.pk)


# endpoint -> (factory making one row, the path segment of its detail, staff only)
ENDPOINTS = {
    "leads": (f.LeadFactory, by_kartra_id, False),
    "custom-fields": (f.CustomFieldFactory, by_kartra_id, False),
    "tags": (f.TagFactory, by_kartra_id, False),
    "lists": (f.ListFactory, by_kartra_id, False),
    "sequences": (f.SequenceFactory, by_kartra_id, False),
    "memberships": (f.MembershipFactory, by_kartra_id, False),
    "membership-levels": (f.MembershipLevelFactory, by_mirror_key, False),
    "products": (f.ProductFactory, by_kartra_id, False),
    "transactions": (f.TransactionFactory, by_kartra_id, False),
    "subscriptions": (f.SubscriptionFactory, by_kartra_id, False),
    "calendars": (f.CalendarFactory, by_kartra_id, False),
    "calendar-classes": (f.CalendarClassFactory, by_mirror_key, False),
    "calendar-subscriptions": (f.CalendarSubscriptionFactory, by_kartra_id, False),
    "surveys": (f.SurveyFactory, by_kartra_id, False),
    "survey-results": (f.SurveyResultFactory, by_mirror_key, False),
    "assets": (f.AssetFactory, by_mirror_key, False),
    "activity": (f.ActivityFactory, by_own_id, False),
    "changes": (f.ChangeFactory, by_own_id, False),
    "deliveries": (f.DeliveryFactory, by_own_id, True),
    "sync-runs": (f.SyncRunFactory, by_own_id, True),
}


def test_every_routed_endpoint_is_covered():
    assert {prefix for prefix, _, _ in router.registry} == set(ENDPOINTS)


def urls(endpoint: str) -> tuple[str, str]:
    make, key, _ = ENDPOINTS[endpoint]
    row = make()
    return f"{API}{endpoint}/", f"{API}{endpoint}/{key(row)}/"


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_anonymous_gets_401_with_a_challenge(client_anonymous, endpoint):
    for url in urls(endpoint):
        response = client_anonymous.get(url)
        assert response.status_code == 401
        assert response["WWW-Authenticate"] == "Token"
        assert "results" not in response.json()


def test_anonymous_gets_401_on_the_root(client_anonymous):
    assert client_anonymous.get(API).status_code == 401


def test_bad_token_gets_401(db):
    client = token_client(f.UserFactory())
    client.credentials(HTTP_AUTHORIZATION="Token not-a-token")
    assert client.get(f"{API}leads/").status_code == 401


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_user_without_view_permission_gets_403(client_no_perm, endpoint):
    for url in urls(endpoint):
        assert client_no_perm.get(url).status_code == 403


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_reader_reads_except_staff_endpoints(client_reader, endpoint):
    staff_only = ENDPOINTS[endpoint][2]
    for url in urls(endpoint):
        assert client_reader.get(url).status_code == (403 if staff_only else 200)


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_staff_reader_reads_everything(client_staff, endpoint):
    for url in urls(endpoint):
        response = client_staff.get(url)
        assert response.status_code == 200
        assert client_staff.head(url).status_code == 200
        assert client_staff.options(url).status_code == 200


def test_staff_without_view_permission_gets_403(db):
    client = token_client(f.UserFactory(is_staff=True))
    assert client.get(f"{API}deliveries/").status_code == 403


def test_one_view_permission_opens_one_endpoint(db):
    from django.contrib.auth.models import Permission

    user = f.UserFactory()
    user.user_permissions.add(Permission.objects.get(codename="view_tag"))
    client = token_client(user)
    assert client.get(f"{API}tags/").status_code == 200
    assert client.get(f"{API}leads/").status_code == 403


def test_session_authentication_works(reader, client):
    client.force_login(reader)
    assert client.get(f"{API}leads/").status_code == 200


@pytest.mark.parametrize("endpoint", ENDPOINTS)
@pytest.mark.parametrize("method", ["post", "put", "patch", "delete"])
def test_writes_get_405(client_staff, endpoint, method):
    list_url, detail_url = urls(endpoint)
    for url in (list_url, detail_url):
        assert getattr(client_staff, method)(url, {}, format="json").status_code == 405
