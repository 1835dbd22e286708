"""The OpenAPI schema and its documentation pages."""

import re

import pytest
import yaml
from django.core.management import call_command

from kartra_mirror.api.urls import router

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def schema(django_db_blocker, tmp_path_factory) -> dict:
    """Generated once by the spectacular command, which fails on any warning or on an
    invalid OpenAPI 3 document."""
    path = tmp_path_factory.mktemp("schema") / "schema.yaml"
    with django_db_blocker.unblock():
        call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(path))
    return yaml.safe_load(path.read_text())


def list_parameters(schema: dict, prefix: str) -> dict[str, dict]:
    operation = schema["paths"][f"/api/v1/{prefix}/"]["get"]
    return {param["name"]: param for param in operation["parameters"]}


@pytest.mark.parametrize("prefix,viewset", [(p, v) for p, v, _ in router.registry])
def test_every_filter_is_in_the_schema_with_its_type(schema, prefix, viewset):
    parameters = list_parameters(schema, prefix)
    paging = viewset.pagination_class
    expected = [
        *viewset.filterset_class.base_filters,
        paging.cursor_query_param,  # "after" on the change feed
        paging.page_size_query_param,
    ]
    if viewset.ordering_fields:  # the others have one fixed order
        expected.append("ordering")
    for name in expected:
        assert name in parameters, f"{prefix}: {name} missing from the schema"
        param_schema = parameters[name]["schema"]
        assert param_schema.get("type") in {"string", "integer", "number", "boolean", "array"}
        if param_schema["type"] == "array":
            assert param_schema["items"]["type"] in {"string", "integer"}
    assert ("search" in parameters) == bool(getattr(viewset, "search_fields", None))
    assert not set(parameters) - set(expected) - {"search"}


def test_filter_types(schema):
    parameters = list_parameters(schema, "leads")
    assert parameters["id"]["schema"]["type"] == "integer"
    assert parameters["id"]["description"] == "Kartra id."
    assert parameters["tag"]["schema"] == {
        "type": "array",
        "items": {"type": "string", "maxLength": 255},
    }
    assert parameters["tag"]["explode"] is True
    assert parameters["tag_id"]["schema"]["items"]["type"] == "integer"
    assert parameters["updated_since"]["schema"] == {"type": "string", "format": "date-time"}
    assert parameters["blacklisted"]["schema"]["type"] == "boolean"
    assert set(parameters["sequence_status"]["schema"]["enum"]) == {
        "active",
        "unsubscribed",
        "completed",
    }
    assert parameters["ordering"]["schema"]["enum"][:2] == ["id", "-id"]
    assert list_parameters(schema, "transactions")["amount_min"]["schema"]["type"] == "number"


def detail_key(schema: dict, prefix: str) -> dict:
    (parameter,) = schema["paths"][f"/api/v1/{prefix}/{{key}}/"]["get"]["parameters"]
    return parameter


@pytest.mark.parametrize(
    "prefix,pattern",
    [
        ("leads", "^(?:[0-9]+|mirror-[0-9]+)$"),  # a Kartra id, or the mirror's key
        ("tags", "^(?:[0-9]+|mirror-[0-9]+)$"),
        ("membership-levels", "^mirror-[0-9]+$"),  # Kartra's id is unique per membership
        ("survey-results", "^mirror-[0-9]+$"),  # Kartra gives them no id
        ("activity", "^[0-9]+$"),  # the mirror's own records
    ],
)
def test_a_detail_is_addressed_by_kartra_id_or_mirror_key(schema, prefix, pattern):
    key = detail_key(schema, prefix)
    assert key["in"] == "path" and key["schema"] == {"type": "string", "pattern": pattern}
    assert key["description"]


def test_rows_show_id_and_url(schema):
    components = schema["components"]["schemas"]
    for name in ("Lead", "LeadDetail", "Tag", "MembershipLevel", "LeadBrief", "CatalogBrief"):
        properties = components[name]["properties"]
        assert properties["id"]["type"] == "integer", name
        assert properties["url"] == {"type": "string", "format": "uri", "readOnly": True}
        assert "kartra_id" not in properties, name


def test_only_reads_are_documented(schema):
    methods = {method for path in schema["paths"].values() for method in path}
    assert methods == {"get"}


def test_token_authentication_is_documented(schema):
    assert schema["components"]["securitySchemes"]["tokenAuth"]["in"] == "header"


def test_schema_is_served(client):
    response = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    assert response.json()["openapi"].startswith("3.")


EXTERNAL = re.compile(r"""(?:src|href)\s*=\s*["']?(?:https?:)?//""", re.IGNORECASE)


@pytest.mark.parametrize("path", ["/api/docs/", "/api/redoc/"])
def test_docs_pages_load_nothing_from_the_internet(client, path):
    response = client.get(path)
    assert response.status_code == 200
    html = response.content.decode()
    assert "/static/drf_spectacular_sidecar/" in html
    assert not EXTERNAL.search(html), EXTERNAL.search(html)
    assert "fonts.googleapis" not in html
    assert '"validatorUrl": null' in html or path.endswith("redoc/")


def test_browsable_api_renders_for_a_logged_in_reader(client, reader):
    client.force_login(reader)
    response = client.get("/api/v1/leads/", HTTP_ACCEPT="text/html")
    assert response.status_code == 200
    assert b"Lead" in response.content
