"""``FakeAccountData``: what a fake account holds (catalogue, leads, clock, id counters) and
its lookups, without the mutations; rendering, truth and IPNs read an account through it."""

from __future__ import annotations

import random
import threading
from dataclasses import dataclass, field
from datetime import datetime

from .model import (
    FakeCalendar,
    FakeCustomField,
    FakeLead,
    FakeMembership,
    FakeMembershipLevel,
    FakeNamed,
    FakePricePoint,
    FakeProduct,
    FakeSequence,
    FakeSurvey,
    kartra_now,
    kartra_time,
)


@dataclass
class FakeAccountData:
    """The whole account's data: catalogue by id, leads by id, a fake clock and id counters.

    ``anchor`` is the account's present: no date in it is later, but for the sessions of
    calendar bookings still to come. ``now`` is its clock (the anchor unless given):
    mutations stamp with it, :func:`~kartra_fake.generate.generate_account` leaves it
    :data:`~kartra_fake.generate.PLAYED_DAYS` before the anchor and
    :func:`~kartra_fake.play.play_events` moves it towards the anchor, never past it.
    """

    tags: dict[int, FakeNamed] = field(default_factory=dict)
    lists: dict[int, FakeNamed] = field(default_factory=dict)
    sequences: dict[int, FakeSequence] = field(default_factory=dict)
    memberships: dict[int, FakeMembership] = field(default_factory=dict)
    products: dict[int, FakeProduct] = field(default_factory=dict)
    calendars: dict[int, FakeCalendar] = field(default_factory=dict)
    surveys: dict[int, FakeSurvey] = field(default_factory=dict)
    custom_fields: dict[int, FakeCustomField] = field(default_factory=dict)
    pages: dict[int, FakeNamed] = field(default_factory=dict)
    forms: dict[int, FakeNamed] = field(default_factory=dict)
    videos: dict[int, FakeNamed] = field(default_factory=dict)
    tracking_links: dict[int, FakeNamed] = field(default_factory=dict)
    split_test_links: dict[int, FakeNamed] = field(default_factory=dict)
    leads: dict[int, FakeLead] = field(default_factory=dict)
    #: The present (aware; kept in America/New_York, whole seconds); default: the current time.
    anchor: datetime = field(default_factory=kartra_now)
    #: The account's clock (America/New_York); never after the anchor.
    now: datetime | None = None
    seed: int = 0
    next_ids: dict[str, int] = field(default_factory=dict)
    #: IPN bodies waiting to be sent (see ``kartra_fake.ipn``); None: the account sends no IPN.
    ipn_outbox: list[str] | None = None
    lock: threading.RLock = field(default_factory=threading.RLock, repr=False, compare=False)
    rng: random.Random = field(default_factory=random.Random, repr=False, compare=False)

    def __post_init__(self) -> None:
        self.anchor = kartra_time(self.anchor)
        self.now = self.anchor if self.now is None else min(kartra_time(self.now), self.anchor)

    def new_id(self, kind: str, start: int = 1) -> int:
        """Next id for ``kind`` (``"lead"``, ``"transaction"``, ...), starting at ``start``."""
        with self.lock:
            value = self.next_ids.get(kind, start)
            self.next_ids[kind] = value + 1
            return value

    # -- lookups ----------------------------------------------------------------------------

    def lead(self, lead_id: int) -> FakeLead:
        """The lead with that id (KeyError when unknown)."""
        return self.leads[int(lead_id)]

    def find_lead(
        self, *, lead_id: str | int | None = None, email: str | None = None
    ) -> FakeLead | None:
        """The lead Kartra's ``get_lead`` would find: the id wins over the email."""
        if lead_id not in (None, ""):
            try:
                return self.leads.get(int(str(lead_id).strip()))
            except ValueError:
                return None
        if email:
            wanted = email.strip().casefold()
            for lead in self.leads.values():
                if lead.email.casefold() == wanted:
                    return lead
        return None

    def level(self, membership_id: int, level_id: int) -> FakeMembershipLevel:
        """A membership level by ids."""
        return next(lv for lv in self.memberships[membership_id].levels if lv.id == level_id)

    def price_point(self, product_id: int, number: int) -> FakePricePoint:
        """A product's price point by number."""
        return next(pp for pp in self.products[product_id].price_points if pp.number == number)
