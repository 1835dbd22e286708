"""The project's logging: one configuration for Django, Celery and gunicorn, as plain text or
as JSON lines (``DJANGO_LOG_FORMAT=json``), with credentials and personal data redacted.

The webhook URL carries its token, the endpoint's only credential, and Django and gunicorn
log request paths ("Not Found: ...", access lines); exception texts may quote a lead's data.
Every handler therefore passes records through :class:`RedactSecrets`.
"""

import logging
import re
from typing import Any

from pythonjsonlogger.json import JsonFormatter

#: The secret path segment of the webhook URL: ``/webhooks/kartra/<token>/``.
WEBHOOK_TOKEN = re.compile(r"(/webhooks/kartra/)[^/\s\"'?#]+")
#: An email address, as far as a log line needs to tell.
EMAIL = re.compile(r"[\w.+%-]+@[\w-]+(?:\.[\w-]+)+")


def redact(text: str) -> str:
    """``text`` with webhook tokens and email addresses replaced by placeholders."""
    return EMAIL.sub("<email>", WEBHOOK_TOKEN.sub(r"\1<token>", text))


class RedactSecrets(logging.Filter):
    """Replace webhook tokens and email addresses in a record's message and traceback."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except (TypeError, ValueError):
            return True  # a malformed record is logging's own problem to report
        redacted = redact(message)
        if redacted != message:
            record.msg, record.args = redacted, None
        if record.exc_info and record.exc_info[0] is not None:
            # Formatted here so the redacted text is what every formatter prints.
            record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
            record.exc_info = None
        elif record.exc_text:
            record.exc_text = redact(record.exc_text)
        return True


class RedactedJsonFormatter(JsonFormatter):
    """JSON lines whose every field is redacted: besides the message, a record's extra
    attributes are written too (Django adds the request, whose repr holds the path)."""

    def process_log_record(self, log_data: dict[str, Any]) -> dict[str, Any]:
        return {
            key: value
            if value is None or isinstance(value, bool | int | float)
            else redact(value if isinstance(value, str) else str(value))
            for key, value in log_data.items()
        }


def logging_config(*, log_format: str = "plain", level: str = "INFO") -> dict:
    """A :func:`logging.config.dictConfig` configuration: one console handler on stderr, in
    ``log_format`` (``plain`` or ``json``), which every logger of the process reaches."""
    if log_format not in ("plain", "json"):
        raise ValueError(f"log format must be 'plain' or 'json', not {log_format!r}")
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {
            "plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"},
            "json": {
                "()": "kartra_mirror.logs.RedactedJsonFormatter",
                "format": "%(asctime)s %(levelname)s %(name)s %(message)s %(process)d",
                "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
                "timestamp": False,
            },
        },
        "filters": {"redact": {"()": "kartra_mirror.logs.RedactSecrets"}},
        "handlers": {
            "console": {
                "class": "logging.StreamHandler",
                "formatter": log_format,
                "filters": ["redact"],
            }
        },
        "root": {"handlers": ["console"], "level": level},
        "loggers": {
            # Django's and gunicorn's own handlers would print paths unfiltered: their records
            # go through the console handler instead.
            "django": {"handlers": [], "propagate": True},
            "django.server": {"handlers": [], "propagate": True},
            "django.db.backends": {"level": "WARNING"},
            "gunicorn.error": {"handlers": [], "propagate": True, "level": level},
            "gunicorn.access": {"handlers": [], "propagate": True, "level": "INFO"},
            # One INFO line per Kartra API call is noise; retries and failures still log.
            "httpx": {"level": "WARNING"},
        },
    }
