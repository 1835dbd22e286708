import pytest

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
