"""Characters no database column holds (NUL; lone surrogates, which JSON's \\ud800 decodes
to): a body that carries them is stored, and refused or applied, never lost."""

import json

import pytest

from events.models import Delivery, DeliveryStatus
from leads.models import Lead
from tests.events.deliveries.conftest import TOKEN, post, webhook_settings  # noqa: F401 - fixtures
from tests.payloads import lead_block

pytestmark = pytest.mark.django_db


def test_a_body_whose_action_holds_a_nul_is_stored(post):  # noqa: F811
    """An action holding NUL is not text: the body is stored, kept as rejected, with a 400."""
    body = json.dumps(
        {"lead": lead_block(1), "action": "custom\u0000event", "action_details": {}}
    ).encode()

    response = post(body)

    assert response.status_code != 503, response.content
    assert Delivery.objects.count() == 1


def test_an_unknown_lead_key_holding_a_nul_does_not_fail_the_delivery(post):  # noqa: F811
    """Unknown lead keys stay in ``raw`` only (``Lead.mirror_raw``, jsonb on PostgreSQL), with
    NUL replaced: the delivery applies on both databases."""
    body = json.dumps(
        {
            "lead": lead_block(1, some_new_key="a\u0000b"),
            "action": "assign_tag",
            "action_details": {"tag": {"tag_id": "21", "tag_name": "VIP"}},
        }
    ).encode()

    response = post(body)

    assert response.status_code == 200
    delivery = Delivery.objects.get()
    assert delivery.status == DeliveryStatus.PROCESSED, delivery.error
    assert Lead.objects.filter(kartra_id=1).exists()


def test_a_body_whose_action_holds_a_lone_surrogate_is_stored(post):  # noqa: F811
    """An action holding a lone surrogate is stored and refused with a reason, never a 500."""
    body = b'{"lead": {"id": "1"}, "action": "custom\\ud800", "action_details": {}}'

    response = post(body)

    assert Delivery.objects.count() == 1
    assert response.status_code in (200, 400)
