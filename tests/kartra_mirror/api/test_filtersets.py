"""The FilterSets build, per request, only the filters the query string names."""

import pytest
from django.http import QueryDict

from events import filtersets as events_filtersets
from kartra_mirror.api.filters import MirrorFilterSet
from leads.filtersets import catalog, lead, relations

from .conftest import API

FILTERSETS = [
    value
    for module in (lead, catalog, relations, events_filtersets)
    for value in vars(module).values()
    if isinstance(value, type) and issubclass(value, MirrorFilterSet) and value._meta.model
]


@pytest.mark.parametrize("filterset", FILTERSETS, ids=lambda cls: cls.__name__)
def test_each_filter_is_named_by_its_own_parameter(filterset):
    assert filterset.named_filters(QueryDict("")) == set()
    assert filterset.named_filters(QueryDict("page_size=5&cursor=x&search=y")) == set()
    for name in filterset.base_filters:
        assert filterset.named_filters(QueryDict(f"{name}=1")) == {name}
        assert filterset.named_filters(QueryDict(f"{name}=")) == {name}  # empty is named


def test_request_filterset_copies_only_the_named_filters():
    data = QueryDict("tag=a&tag=b&tag_match=any&page_size=3")
    names = lead.LeadFilterSet.named_filters(data)
    assert names == {"tag", "tag_match"}
    narrowed = lead.LeadFilterSet.narrowed(names)
    assert lead.LeadFilterSet.narrowed(names) is narrowed  # made once per set of names
    assert issubclass(narrowed, lead.LeadFilterSet)
    filterset = narrowed(data=data)
    assert set(filterset.filters) == {"tag", "tag_match"}
    assert set(filterset.form.fields) == {"tag", "tag_match"}
    assert filterset.is_valid(), filterset.errors
    assert filterset.form.cleaned_data == {"tag": ["a", "b"], "tag_match": "any"}


def test_invalid_value_of_a_named_filter_is_a_400(client_reader):
    response = client_reader.get(f"{API}leads/", {"score_min": "many", "email": "a@b.c"})
    assert response.status_code == 400
    assert set(response.json()) == {"score_min"}


def test_browsable_api_filter_form_shows_every_filter(reader, client):
    client.force_login(reader)
    response = client.get(f"{API}leads/", {"email": "a@b.c", "format": "api"})
    assert response.status_code == 200
    page = response.content.decode()
    for name in lead.LeadFilterSet.base_filters:
        assert f'name="{name}"' in page, name


def test_every_endpoint_filters_with_a_mirror_filterset():
    from kartra_mirror.api.urls import router

    for _, viewset, _ in router.registry:
        assert issubclass(viewset.filterset_class, MirrorFilterSet), viewset.__name__
