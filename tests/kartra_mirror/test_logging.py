"""Log lines carry no webhook token and no email address, in plain text or JSON."""

import io
import json
import logging
import logging.config

import pytest

from kartra_mirror.logs import logging_config, redact


def test_redact_replaces_tokens_and_emails():
    text = "POST /webhooks/kartra/s3cret-Token_1/ for Jane.Doe+tag@mail.example.co.uk failed"
    assert redact(text) == "POST /webhooks/kartra/<token>/ for <email> failed"


@pytest.fixture
def configured():
    """A logger configured by ``logging_config`` whose console handler writes to a buffer;
    the project's configuration is put back afterwards."""
    from django.conf import settings

    def configure(log_format: str) -> tuple[logging.Logger, io.StringIO]:
        logging.config.dictConfig(logging_config(log_format=log_format))
        stream = io.StringIO()
        handler = next(h for h in logging.getLogger().handlers if h.name == "console")
        handler.setStream(stream)
        return logging.getLogger("kartra_mirror.test"), stream

    yield configure
    logging.config.dictConfig(settings.LOGGING)


def _log_everything(logger: logging.Logger) -> None:
    logger.info("lead %s moved to %s", "old@example.com", "/webhooks/kartra/tok123/")
    try:
        raise ValueError("duplicate key (email)=(new@example.com)")
    except ValueError:
        logger.exception("processing failed")
    logger.warning("with extras", extra={"lead_email": "extra@example.com", "attempt": 2})


def test_plain_lines_are_redacted(configured):
    logger, stream = configured("plain")
    _log_everything(logger)
    text = stream.getvalue()
    assert "lead <email> moved to /webhooks/kartra/<token>/" in text
    assert "ValueError: duplicate key (email)=(<email>)" in text  # the traceback too
    assert "@example.com" not in text and "tok123" not in text


def test_json_lines_are_redacted_field_by_field(configured):
    logger, stream = configured("json")
    _log_everything(logger)
    records = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert [r["level"] for r in records] == ["INFO", "ERROR", "WARNING"]
    assert records[0]["message"] == "lead <email> moved to /webhooks/kartra/<token>/"
    assert records[0]["logger"] == "kartra_mirror.test"
    assert "(email)=(<email>)" in records[1]["exc_info"]
    assert records[2]["lead_email"] == "<email>" and records[2]["attempt"] == 2
    assert "@example.com" not in stream.getvalue()


def test_an_unknown_log_format_is_refused():
    with pytest.raises(ValueError, match="plain"):
        logging_config(log_format="xml")
