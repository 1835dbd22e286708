"""The dashboard's MRR over time (``events.dashboard.mrr_chart``): a bar per month's end and
one for now, which is the MRR figure shown above it."""

from decimal import Decimal

import pytest
from django.urls import reverse

from events.dashboard import dashboard
from tests.leads.admin.test_subscriptions import subscribed  # noqa: F401 (a fixture)

pytestmark = pytest.mark.django_db


def test_the_last_bar_is_the_mrr_figure(admin_client, subscribed):  # noqa: F811
    figures = dashboard()["subscriptions"]
    chart = figures["mrr_chart"]
    assert figures["mrr"] == Decimal("63.48")
    assert chart.title == "MRR at the end of each month (63.48 now)"
    assert [label.text for label in chart.x_labels][-1] == "now"
    assert len(chart.x_labels) == 13
    assert chart.bars[-1].title.endswith(": MRR now 63.48")
    content = admin_client.get(reverse("admin:index")).content.decode()
    assert 'data-chart="mrr"' in content
    assert "MRR at the end of each month (63.48 now)" in content


def test_without_subscriptions_the_chart_says_so(admin_client):
    content = admin_client.get(reverse("admin:index")).content.decode()
    assert 'data-chart="mrr"' in content and "No MRR in these 12 months." in content
