"""Keyset paging: walks over many pages neither skip nor repeat a row, in any ordering."""

import base64
import json
from datetime import timedelta

import pytest
from django.utils import timezone

from leads.models import Lead
from tests import factories as f

from .conftest import detail_url, get, walk
from .test_access import ENDPOINTS

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_walk_over_every_list_endpoint(client_staff, endpoint):
    make, key, _ = ENDPOINTS[endpoint]
    rows = make.create_batch(7)
    seen, pages = walk(client_staff, f"{endpoint}/", page_size=2)
    assert pages == 4
    assert len(seen) == len(set(seen)) == 7
    assert set(seen) == {detail_url(f"{endpoint}/{key(row)}/") for row in rows}


@pytest.fixture
def leads_with_ties(db):
    """23 leads whose values tie often and are NULL often, in every ordering field."""
    now = timezone.now()
    for n in range(23):
        f.LeadFactory(
            kartra_id=None if n % 7 == 0 else 1000 - n,
            score=None if n % 4 == 0 else n % 3,
            date_joined=None if n % 5 == 0 else now - timedelta(days=n % 2),
            mirror_last_activity_at=None if n % 2 else now,
        )
    Lead.objects.filter(pk__in=list(Lead.objects.values_list("pk", flat=True)[:10])).update(
        mirror_updated=now
    )


ORDERINGS = [
    "id",  # Kartra's
    "score",
    "date_joined",
    "mirror_updated",
    "mirror_last_activity_at",
]


@pytest.mark.parametrize("ordering", [None, *ORDERINGS, *[f"-{name}" for name in ORDERINGS]])
@pytest.mark.parametrize("page_size", [1, 3, 5])
def test_walk_with_ties_and_nulls_matches_one_big_page(
    client_reader, leads_with_ties, ordering, page_size
):
    params = {} if ordering is None else {"ordering": ordering}  # None: the default order
    everything, _ = walk(client_reader, "leads/", **params, page_size=500)
    seen, pages = walk(client_reader, "leads/", **params, page_size=page_size)
    assert len(everything) == 23
    assert seen == everything
    assert pages == -(-23 // page_size)  # the last page is known to be last: no empty page


@pytest.mark.parametrize("ordering", ["-score", "score", "id", "-id", "-date_joined"])
def test_previous_links_walk_back_the_same_pages(client_reader, leads_with_ties, ordering):
    forward = []
    response = get(client_reader, "leads/", ordering=ordering, page_size=4)
    while True:
        body = response.json()
        forward.append([row["url"] for row in body["results"]])
        if not body["next"]:
            break
        response = client_reader.get(body["next"])
    backward = [forward[-1]]
    while body["previous"]:
        body = client_reader.get(body["previous"]).json()
        backward.append([row["url"] for row in body["results"]])
    assert backward[::-1] == forward


def test_first_page_has_no_previous_and_last_has_no_next(client_reader):
    f.LeadFactory.create_batch(3)
    body = get(client_reader, "leads/", page_size=5).json()
    assert body["next"] is None and body["previous"] is None


def test_page_size_is_capped(client_reader):
    f.LeadFactory.create_batch(3)
    from kartra_mirror.api.pagination import KeysetPagination

    KeysetPagination.max_page_size, saved = 2, KeysetPagination.max_page_size
    try:
        assert len(get(client_reader, "leads/", page_size=1000).json()["results"]) == 2
    finally:
        KeysetPagination.max_page_size = saved
    assert len(get(client_reader, "leads/", page_size="x").json()["results"]) == 3


def test_default_page_size_is_50(client_reader):
    f.LeadFactory.create_batch(51)
    body = get(client_reader, "leads/").json()
    assert len(body["results"]) == 50 and body["next"]


def cursor(payload: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(payload).encode()).decode()


@pytest.mark.parametrize(
    "value",
    [
        cursor({"o": "-score", "p": [1, 2]}),  # made for another ordering
        cursor({"o": "-pk", "p": [2**70]}),  # "-pk": the default order, by primary key
        cursor({"o": "-pk", "p": [None]}),
        cursor({"o": "-pk", "p": ["x"]}),
        cursor({"o": "-pk", "p": [1, 2]}),
        cursor(["-pk"]),
        "%%%",
    ],
)
def test_forged_cursors_are_400(client_reader, value):
    response = get(client_reader, "leads/", cursor=value)
    assert response.status_code == 400
    assert "cursor" in response.json()


def test_forged_datetime_positions_never_reach_the_database_unchecked(client_reader):
    f.LeadFactory()
    odd_offset = cursor({"o": "-date_joined", "p": ["2020-01-01T00:00:00-19:37", 1]})
    response = get(client_reader, "leads/", ordering="-date_joined", cursor=odd_offset)
    assert response.status_code == 200
    before_utc = cursor({"o": "-date_joined", "p": ["0001-01-01T00:00:00+05:00", 1]})
    response = get(client_reader, "leads/", ordering="-date_joined", cursor=before_utc)
    assert response.status_code == 400
