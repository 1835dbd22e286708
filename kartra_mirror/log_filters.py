"""Logging filters of the project."""

import logging
import re

#: The secret path segment of the webhook URL: ``/webhooks/kartra/<token>/``.
WEBHOOK_TOKEN = re.compile(r"(/webhooks/kartra/)[^/\s\"'?#]+")


class RedactWebhookTokens(logging.Filter):
    """Replace the token of every webhook URL in a record's message with ``<token>``.

    The token is the endpoint's only credential, and Django logs request paths ("Not
    Found: ...", runserver's access lines), so every handler of the project carries this.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except (TypeError, ValueError):
            return True  # a malformed record is logging's own problem to report
        redacted = WEBHOOK_TOKEN.sub(r"\1<token>", message)
        if redacted != message:
            record.msg, record.args = redacted, None
        return True
