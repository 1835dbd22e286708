"""The fake account's data: the catalogue (tags, lists, products, ...) and leads with relations.

Ids are plain ints here; how they travel (strings or integers) is decided when rendering.
Dates are aware datetimes in America/New_York, Kartra's zone (002 doc: "in EST timezone").
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Literal
from zoneinfo import ZoneInfo

KARTRA_TZ = ZoneInfo("America/New_York")


def kartra_time(moment: datetime, *, later: bool = False) -> datetime:
    """``moment`` (aware) in Kartra's zone, whole seconds, moved by an hour (earlier, or
    ``later``) while its wall-clock time is skipped or repeated by a DST change.

    Kartra sends dates as Eastern wall clock without an offset (002 doc), so only a wall
    time that occurs exactly once names one instant; the fake's truth keeps to those.
    """
    if moment.tzinfo is None:
        raise ValueError(f"expected an aware datetime, got {moment!r}")
    moment = moment.astimezone(KARTRA_TZ).replace(microsecond=0)
    step = timedelta(hours=1 if later else -1)
    while moment.replace(fold=0).utcoffset() != moment.replace(fold=1).utcoffset():
        moment = (moment.astimezone(UTC) + step).astimezone(KARTRA_TZ)
    return moment


def kartra_now() -> datetime:
    """The current time as :func:`kartra_time` keeps it."""
    return kartra_time(datetime.now(UTC))


def kartra_after(moment: datetime, delta: timedelta, *, later: bool = False) -> datetime:
    """``moment`` plus ``delta`` of elapsed time, as :func:`kartra_time` keeps it (adding to
    an aware datetime adds wall-clock time, an hour off across a DST change)."""
    return kartra_time(moment.astimezone(UTC) + delta, later=later)


def elapsed(start: datetime, end: datetime) -> timedelta:
    """Time elapsed from ``start`` to ``end`` (two aware datetimes in one zone subtract as
    wall clocks, an hour off across a DST change)."""
    return end.astimezone(UTC) - start.astimezone(UTC)


def words(text: str) -> list[str]:
    """Split a space-separated list of names (keeps long key lists readable)."""
    return text.split()


FakeFieldType = Literal["input_field", "text_area", "drop_down", "radio_button", "checkbox"]
TEXT_FIELD_TYPES = ("input_field", "text_area")
FakeTransactionType = Literal[
    "sale", "refund", "partial_refund", "rebill", "cancellation", "chargeback", "failed"
]
FakeCalendarStatus = Literal["Active", "Pending", "Completed", "Declined", "Cancelled"]


@dataclass
class FakeNamed:
    """A catalogue item that only has an id and a name (tag, list, page, form, video, link)."""

    id: int
    name: str


@dataclass
class FakeSequence:
    id: int
    name: str
    steps: int


@dataclass
class FakeMembershipLevel:
    id: int
    name: str


@dataclass
class FakeMembership:
    id: int
    name: str
    levels: list[FakeMembershipLevel]


@dataclass
class FakePricePoint:
    """Price point ``number`` (1, 2, ...) within a product; recurring ones open subscriptions."""

    number: int
    amount: Decimal
    recurring: bool = False
    payments: int = 0  # number of rebills for recurring price points; 9999 = until cancelled
    trial_days: int = 0


@dataclass
class FakeProduct:
    id: int
    name: str
    official_name: str
    price_points: list[FakePricePoint]


@dataclass
class FakeHost:
    first_name: str
    last_name: str
    email: str


@dataclass
class FakeCalendar:
    id: int
    name: str
    vendor_id: int
    vendor_timezone: str
    hosts: list[FakeHost]
    classes: list[FakeNamed]


@dataclass
class FakeSurveyQuestion:
    id: int
    title: str
    options: list[FakeNamed]
    correct_option_ids: tuple[int, ...] = ()  # quizzes only


@dataclass
class FakeSurvey:
    id: int
    name: str
    type: int  # 1 survey, 2 quiz
    questions: list[FakeSurveyQuestion]


@dataclass
class FakeCustomField:
    id: int
    identifier: str
    type: FakeFieldType
    options: list[FakeNamed] = field(default_factory=list)


# -- lead relations -------------------------------------------------------------------------


@dataclass
class FakeListSubscription:
    list_id: int
    active: bool


@dataclass
class FakeSequenceSubscription:
    sequence_id: int
    step: int
    status: Literal["active", "unsubscribed"]
    completed: bool = False


@dataclass
class FakeMembershipAccess:
    membership_id: int
    level_id: int
    active: bool


@dataclass
class FakeTransaction:
    id: int
    type: FakeTransactionType
    product_id: int
    price_point: int
    amount: Decimal
    date: datetime
    parent_id: int = 0
    subscription_id: int = 0
    pay_number: int = 1
    original_id: int = 0
    base_amount: Decimal = Decimal("0.00")
    discount: Decimal = Decimal("0.00")
    tax: Decimal = Decimal("0.00")
    shipping: Decimal = Decimal("0.00")
    processor: str = "Stripe"
    affiliate: str = ""


@dataclass
class FakeSubscription:
    id: int
    product_id: int
    price_point: int
    original_transaction_id: int
    status: Literal["active", "cancelled"]
    payments_left: int


@dataclass
class FakeCalendarSubscription:
    id: int
    calendar_id: int
    class_id: int
    status: FakeCalendarStatus
    events: list[tuple[datetime, int]]  # (start, minutes)


@dataclass
class FakeSurveyResult:
    survey_id: int
    score: int | None  # None for plain surveys ("N/A")
    completion_time: int  # seconds
    completion_date: datetime
    answers: dict[int, list[int]]  # question id -> option ids


@dataclass
class FakeLead:
    """One lead: profile, relations and the per-lead rendering quirks."""

    id: int
    email: str
    first_name: str
    last_name: str
    date_joined: datetime
    middle_name: str = ""
    last_name2: str = ""
    username: str = ""
    company: str = ""
    sales_tax_id: str = ""
    phone_country_code: str = ""
    phone: str = ""
    ip: str = ""
    ip_country: str = ""
    address: str = ""
    zip: str = ""
    city: str = ""
    state: str = ""
    country: str = ""
    lead_picture: str = "https://s3.amazonaws.com/kartra/internal/default_user.png"
    website: str = ""
    facebook: str = ""
    twitter: str = ""
    linkedin: str = ""
    google_plus: str = ""
    notes: str = ""
    lead_preferred_time_zone: str = "America/New_York"
    source: str = "single-optin"
    source_id: int = 0
    referring_id: int = 0
    score: int = 0
    blacklisted: bool = False
    gdpr_lead_status: int = 0
    gdpr_lead_status_date: datetime | None = None
    gdpr_lead_status_ip: str = ""
    gdpr_agreed: bool = False  # rendered 1 by get_lead but 0 by webhooks (the docs disagree)
    deleted: bool = False
    deleted_date: datetime | None = None
    # relations
    tags: set[int] = field(default_factory=set)
    lists: dict[int, FakeListSubscription] = field(default_factory=dict)
    sequences: dict[int, FakeSequenceSubscription] = field(default_factory=dict)
    memberships: dict[int, FakeMembershipAccess] = field(default_factory=dict)
    transactions: list[FakeTransaction] = field(default_factory=list)
    subscriptions: list[FakeSubscription] = field(default_factory=list)
    calendars: list[FakeCalendarSubscription] = field(default_factory=list)
    surveys: list[FakeSurveyResult] = field(default_factory=list)
    custom_fields: dict[int, str | list[int]] = field(default_factory=dict)
    affiliate_products: set[int] = field(default_factory=set)
    jv_products: set[int] = field(default_factory=set)
    forms: list[int] = field(default_factory=list)
    activity: Counter[str] = field(default_factory=Counter)
    # rendering quirks of get_lead (002 doc: example vs table)
    sequence_key: Literal["tree_name", "sequence_name"] = "tree_name"
    transaction_style: Literal["example", "table"] = "example"
    empty_style: Literal["", "N/A"] = ""
    empty_date_style: Literal["", "0000-00-00 00:00:00"] = "0000-00-00 00:00:00"
