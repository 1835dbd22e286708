from urllib.parse import parse_qsl

import pytest

from kartra_fake import post_ipn, post_webhook

TOKEN = "test-token-0123456789"


@pytest.fixture(autouse=True)
def webhook_settings(settings):
    settings.KARTRA_WEBHOOK_TOKENS = ["old-token", TOKEN]
    return settings


@pytest.fixture
def post(client):
    """POST raw bytes to the webhook URL, as Kartra does."""

    def _post(body: bytes, *, token: str = TOKEN, content_type: str = "application/json"):
        return client.post(f"/webhooks/kartra/{token}/", data=body, content_type=content_type)

    return _post


class Player:
    """Posts what a fake account sends to the real endpoints: a webhook (if any), then every
    IPN the account queued since; ``sent`` keeps the IPNs' transaction ids, in order."""

    def __init__(self, account, client) -> None:
        self.account, self.client, self.sent = account, client, []
        account.ipn_outbox = []

    def __call__(self, webhook: dict | None) -> None:
        if webhook is not None:
            response = post_webhook(f"/webhooks/kartra/{TOKEN}/", webhook, client=self.client)
            assert response.status_code == 200
        for ipn in self.account.take_ipns():
            response = post_ipn(f"/webhooks/kartra/{TOKEN}/ipn/", ipn, client=self.client)
            assert response.status_code == 200
            self.sent.append(int(dict(parse_qsl(ipn))["transaction_id"]))
