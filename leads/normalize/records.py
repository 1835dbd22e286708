"""Typed records the normaliser produces. Field names follow ``leads.models`` where a record
feeds a model (``ProfileRecord.fields`` -> ``Lead``, ``TransactionRecord.fields`` ->
``Transaction``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any


@dataclass(frozen=True)
class OptionRef:
    """An option of a choice custom field or a survey question."""

    kartra_id: int
    value: str


@dataclass(frozen=True)
class CatalogRef:
    """A catalogue row as a webhook names it: tag, list, sequence, page, form, video,
    tracking link, split test link, membership, level, calendar, class or survey."""

    kartra_id: int | None
    name: str


@dataclass(frozen=True)
class ProductRef:
    kartra_id: int | None
    name: str
    official_name: str | None  # None when the payload had no official_product_name


@dataclass(frozen=True)
class CustomValueRecord:
    """A lead's value in one custom field: ``text`` for text types, ``options`` for choices."""

    field_kartra_id: int | None
    identifier: str
    field_type: str
    text: str
    options: tuple[OptionRef, ...]


@dataclass(frozen=True)
class CustomFieldRecord:
    """A custom field of the account (``retrieve_custom_fields``)."""

    kartra_id: int | None
    identifier: str
    field_type: str
    options: tuple[OptionRef, ...]


@dataclass(frozen=True)
class ProfileRecord:
    """A lead block. ``fields`` holds only the keys the payload had, named as ``Lead``'s
    fields, so applying it never blanks a column the payload did not mention."""

    kartra_id: int | None
    fields: dict[str, Any]
    custom_values: tuple[CustomValueRecord, ...] | None  # None: no custom_fields key
    raw: dict


@dataclass(frozen=True)
class TransactionRecord:
    kartra_id: int
    product: ProductRef | None
    subscription_kartra_id: int | None
    fields: dict[str, Any]  # named as ``Transaction``'s fields; only keys present
    raw: dict


@dataclass(frozen=True)
class CalendarRecord:
    calendar: CatalogRef
    calendar_class: CatalogRef | None
    subscription_kartra_id: int | None
    # Active, Pending, Completed, Declined, Cancelled, or another as sent; None if not given
    status: str | None
    vendor_id: int | None
    vendor_timezone: str
    hosts: tuple[dict, ...]  # {"first_name", "last_name", "email"}
    events: tuple[tuple[datetime, int | None], ...]  # (aware start, duration in minutes)
    ics_calendar_link: str


@dataclass(frozen=True)
class AnswerRecord:
    question_kartra_id: int
    question_title: str
    correct: int  # 0 not scored, 1 correct, 2 incorrect
    options: tuple[OptionRef, ...]


@dataclass(frozen=True)
class SurveyRecord:
    survey: CatalogRef
    survey_type: str | None  # "survey" (1), "quiz" (2), else as sent; None if not given
    score: Decimal | None
    completion_time: int | None
    completed_at: datetime | None
    answers: tuple[AnswerRecord, ...]


@dataclass(frozen=True)
class MembershipRecord:
    membership: CatalogRef
    level: CatalogRef | None  # None for external memberships


@dataclass(frozen=True)
class SequenceState:
    name: str
    step: int | None
    status: str  # 'active' | 'unsubscribed' | 'completed'


@dataclass(frozen=True)
class ListState:
    name: str
    active: bool


@dataclass(frozen=True)
class MembershipState:
    name: str
    level_name: str | None
    active: bool


Detail = (
    CatalogRef
    | ProductRef
    | TransactionRecord
    | CalendarRecord
    | SurveyRecord
    | MembershipRecord
    | int
    | None
)


@dataclass(frozen=True)
class WebhookEvent:
    """One outbound-API delivery: ``{lead, action, action_details}``."""

    action: str
    lead: ProfileRecord
    detail: Detail
    raw_details: dict
    known: bool  # False: an action outside WEBHOOK_ACTIONS (detail None)


@dataclass(frozen=True)
class IpnEvent:
    """One IPN post (``kartra-facts.md``, "IPN"): the transaction it reports.

    ``action`` is ``ipn_<transaction type>``. ``lead`` names the buyer (Kartra id, and the
    email that claims a pending import): it is never applied as the lead's profile, since
    its fields describe the checkout and it carries too few of them.
    """

    action: str
    lead: ProfileRecord
    detail: TransactionRecord
    raw_details: dict
    known: bool = True


@dataclass(frozen=True)
class LeadSnapshot:
    """``get_lead``'s ``lead_details``: the profile and every relation Kartra lists."""

    profile: ProfileRecord
    tags: tuple[str, ...]
    lists: tuple[ListState, ...]
    sequences: tuple[SequenceState, ...]
    memberships: tuple[MembershipState, ...]
    transactions: tuple[TransactionRecord, ...]
    calendars: tuple[CalendarRecord, ...]
    surveys: tuple[SurveyRecord, ...]
