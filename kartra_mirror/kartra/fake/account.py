"""``FakeAccount``: an in-memory Kartra account, its mutations and its truth."""

from __future__ import annotations

import random
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from .ipn import IpnMixin
from .model import (
    Calendar,
    CustomField,
    Lead,
    Membership,
    Named,
    Product,
    Sequence,
    Survey,
    kartra_now,
    kartra_time,
)
from .mutations import Mutation, MutationsMixin


@dataclass
class FakeAccount(MutationsMixin, IpnMixin):
    """The whole account: catalogue by id, leads by id, a fake clock and an id counter.

    Mutation methods (``assign_tag``, ``buy_product``, ...) change the state and return the
    webhook body Kartra would send for them; see :class:`MutationsMixin`.

    ``anchor`` is the account's present: no date in it is later, but for the sessions of
    calendar bookings still to come. ``now`` is its clock (the anchor unless given):
    mutations stamp with it, :meth:`generate` leaves it :data:`~.generate.PLAYED_DAYS`
    before the anchor and :meth:`play` moves it towards the anchor, never past it.
    """

    tags: dict[int, Named] = field(default_factory=dict)
    lists: dict[int, Named] = field(default_factory=dict)
    sequences: dict[int, Sequence] = field(default_factory=dict)
    memberships: dict[int, Membership] = field(default_factory=dict)
    products: dict[int, Product] = field(default_factory=dict)
    calendars: dict[int, Calendar] = field(default_factory=dict)
    surveys: dict[int, Survey] = field(default_factory=dict)
    custom_fields: dict[int, CustomField] = field(default_factory=dict)
    pages: dict[int, Named] = field(default_factory=dict)
    forms: dict[int, Named] = field(default_factory=dict)
    videos: dict[int, Named] = field(default_factory=dict)
    tracking_links: dict[int, Named] = field(default_factory=dict)
    split_test_links: dict[int, Named] = field(default_factory=dict)
    leads: dict[int, Lead] = field(default_factory=dict)
    #: The present (aware; kept in America/New_York, whole seconds); default: the current time.
    anchor: datetime = field(default_factory=kartra_now)
    #: The account's clock (America/New_York); never after the anchor.
    now: datetime | None = None
    seed: int = 0
    next_ids: dict[str, int] = field(default_factory=dict)
    #: IPN bodies waiting to be sent (see ``.ipn``); None: the account sends no IPN.
    ipn_outbox: list[str] | None = None
    lock: threading.RLock = field(default_factory=threading.RLock, repr=False, compare=False)
    rng: random.Random = field(default_factory=random.Random, repr=False, compare=False)

    def __post_init__(self) -> None:
        self.anchor = kartra_time(self.anchor)
        self.now = self.anchor if self.now is None else min(kartra_time(self.now), self.anchor)

    # -- building ---------------------------------------------------------------------------

    @classmethod
    def generate(
        cls, n_leads: int = 50, seed: int = 1, *, anchor: datetime | None = None
    ) -> FakeAccount:
        """A realistic demo account whose dates lie in the 90 days before ``anchor`` (aware;
        default: the current time); every kind of relation occurs when ``n_leads >= 6``.

        The same ``n_leads``, ``seed`` and ``anchor`` give the same account.
        """
        from .generate import generate_account

        account = cls(seed=seed) if anchor is None else cls(seed=seed, anchor=anchor)
        return generate_account(account, n_leads, seed)

    def new_id(self, kind: str, start: int = 1) -> int:
        """Next id for ``kind`` (``"lead"``, ``"transaction"``, ...), starting at ``start``."""
        with self.lock:
            value = self.next_ids.get(kind, start)
            self.next_ids[kind] = value + 1
            return value

    # -- lookups ----------------------------------------------------------------------------

    def lead(self, lead_id: int) -> Lead:
        """The lead with that id (KeyError when unknown)."""
        return self.leads[int(lead_id)]

    def find_lead(self, *, lead_id: str | int | None = None, email: str | None = None):
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

    def level(self, membership_id: int, level_id: int):
        """A membership level by ids."""
        return next(lv for lv in self.memberships[membership_id].levels if lv.id == level_id)

    def price_point(self, product_id: int, number: int):
        """A product's price point by number."""
        return next(pp for pp in self.products[product_id].price_points if pp.number == number)

    # -- answers and truth ------------------------------------------------------------------

    def lead_details(self, lead_id: int) -> dict[str, Any]:
        """The ``lead_details`` object ``get_lead`` answers for this lead."""
        from .render import lead_details

        with self.lock:
            return lead_details(self, self.lead(lead_id))

    def expected_state(self, lead_id: int) -> dict[str, Any]:
        """The lead's truth in plain Python values; the format is documented in
        :func:`kartra_mirror.kartra.fake.state.expected_state`."""
        from .state import expected_state

        with self.lock:
            return expected_state(self, self.lead(lead_id))

    def play(self, n_events: int, seed: int = 0) -> Iterator[tuple[Mutation, dict[str, Any]]]:
        """Apply ``n_events`` realistic mutations; yield each with its webhook body."""
        from .play import play

        return play(self, n_events, seed)
