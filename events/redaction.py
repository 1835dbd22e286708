"""Taking a person's data out of stored delivery bodies and JSON columns. Pure code.

Two strengths. A body *about* the erased lead (its lead block, a purchase it made) is
rewritten whole: the lead block goes, and so do the personal keys of the details
(``buyer_*``, ``shipping_*``, names, email, phone, address); what stays (the action, the
tag, list, product or transaction ids, amounts) keeps counts and charts right. A body about
someone else that merely *mentions* the erased person (their email as a referrer, say) keeps
its shape, and only the strings that mention the person are replaced, so it still replays.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import parse_qsl, quote, urlencode

from leads.normalize.jsonlenient import loads_lenient

ERASED = "[erased]"

#: Keys whose values are personal wherever they appear in a body about the erased lead.
PERSONAL_KEYS = frozenset(
    {
        "lead",
        "id",
        "buyer_id",
        "lead_id",
        "first_name",
        "middle_name",
        "last_name",
        "last_name2",
        "email",
        "username",
        "phone",
        "phone_country_code",
        "company",
        "address",
        "city",
        "zip",
        "state",
        "country",
        "ip",
        "ip_country",
        "website",
        "facebook",
        "twitter",
        "linkedin",
        "google_plus",
        "sales_tax_id",
        "lead_picture",
        "custom_fields",
        "gdpr_lead_status_ip",
        "card_last_digits",
        "transaction_last_4_card_digits",  # the IPN's
    }
)
#: Key prefixes of the same (a transaction's buyer and shipping fields).
PERSONAL_PREFIXES = ("buyer_", "shipping_", "billing_", "lead_", "customer_")

#: Headers kept on a redacted delivery: the sender's, not the person's.
KEPT_HEADERS = ("Content-Type", "User-Agent")

FORM = "application/x-www-form-urlencoded"

# What may not touch an email for it to be the whole address (a local part or a domain
# going on); "%" is allowed before, for the "%40"-less form "...=ann%40x.com".
_BEFORE = r"(?<![\w.+\-])"
_AFTER = r"(?![\w\-]|\.\w)"


@dataclass(frozen=True)
class Mentions:
    """What identifies the person: ``needles`` are matched inside any string (the email,
    as typed and percent-encoded); ``values`` (names, phone, ...) only as a whole string."""

    needles: tuple[str, ...]
    values: frozenset[str]

    @classmethod
    def of(cls, *, emails: Iterable[str], values: Iterable[str] = ()) -> Mentions:
        needles = set()
        for email in emails:
            if email and email.strip():
                needles.update({email.strip().lower(), quote(email.strip().lower(), safe="")})
        kept = {v.strip().lower() for v in values if v and len(v.strip()) >= 3}
        return cls(tuple(sorted(needles, key=len, reverse=True)), frozenset(kept))

    @property
    def pattern(self) -> re.Pattern | None:
        """The emails as whole addresses: ``ann@x.com`` is not found in ``joann@x.com``."""
        if not self.needles:
            return None
        alternatives = "|".join(re.escape(n) for n in self.needles)
        return re.compile(rf"{_BEFORE}(?:{alternatives}){_AFTER}", re.IGNORECASE)

    def found_in(self, data: bytes) -> bool:
        """Whether raw ``data`` mentions an email (case-insensitive, as a whole address)."""
        lowered = data.lower()
        if not any(needle.encode() in lowered for needle in self.needles):
            return False  # the common case, without decoding
        return self.pattern.search(data.decode("utf-8", "replace")) is not None

    def scrub_text(self, text: str) -> str:
        if text.strip().lower() in self.values:
            return ERASED
        pattern = self.pattern
        return pattern.sub(ERASED, text) if pattern is not None else text


def _personal(key: str) -> bool:
    name = key.rsplit("[", 1)[-1].rstrip("]").lower()  # form keys: lead[email] -> email
    return name in PERSONAL_KEYS or name.startswith(PERSONAL_PREFIXES) or key.startswith("lead[")


def json_scrub(value, mentions: Mentions, *, whole: bool = False):
    """``value`` (decoded JSON) with every string that mentions the person replaced; with
    ``whole``, personal keys are dropped too."""
    if isinstance(value, dict):
        return {
            key: json_scrub(item, mentions, whole=whole)
            for key, item in value.items()
            if not (whole and _personal(str(key)))
        }
    if isinstance(value, list):
        return [json_scrub(item, mentions, whole=whole) for item in value]
    if isinstance(value, str):
        return mentions.scrub_text(value)
    return value


def body_redact(body: bytes, content_type: str, mentions: Mentions, *, whole: bool) -> bytes:
    """A stored body with the person taken out: JSON stays JSON, form fields stay form
    fields; a body that is neither becomes ``{"redacted": true}`` when ``whole``, else has
    the mentions replaced in its text."""
    if FORM in content_type.lower():
        fields = parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True)
        kept = [
            (key, mentions.scrub_text(value))
            for key, value in fields
            if not (whole and _personal(key))
        ]
        if whole:
            kept.append(("redacted", "1"))
        return urlencode(kept).encode()
    try:
        decoded = loads_lenient(body)
    except ValueError:
        decoded = None
    if isinstance(decoded, dict):
        redacted = json_scrub(decoded, mentions, whole=whole)
        if whole:
            redacted["redacted"] = True
        return json.dumps(redacted, ensure_ascii=False).encode()
    if whole:
        return b'{"redacted": true}'
    return mentions.scrub_text(body.decode("utf-8", "replace")).encode()


def headers_redact(headers: dict) -> dict:
    return {key: value for key, value in headers.items() if key in KEPT_HEADERS}
