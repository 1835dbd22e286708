"""``generate_account``: a realistic, deterministic demo account.

Its history is relative to the account's anchor (its present), so that a mirror of it has
recent data to show: leads join over the :data:`HISTORY_DAYS` before the anchor, more of them
each week (three times as many a day at the end as at the start), and buy, rebill, get
refunded, book calls and fill in surveys after they join. The last :data:`PLAYED_DAYS` are
left to :func:`~kartra_fake.play.play_events`: the generated history ends where the clock
then starts, so that every played event comes after it.
"""

from __future__ import annotations

import math
import random
from datetime import datetime, timedelta
from decimal import Decimal

from .account import FakeAccount
from .catalogue import demo_catalogue
from .model import (
    TEXT_FIELD_TYPES,
    FakeCalendarSubscription,
    FakeLead,
    FakeListSubscription,
    FakeMembershipAccess,
    FakeSequenceSubscription,
    FakeSubscription,
    FakeSurveyResult,
    FakeTransaction,
    elapsed,
    kartra_after,
    kartra_time,
    words,
)

D = Decimal
FIRST = words("Joe Ana Liam Mia Noah Emma Omar Sofia Yuki Lena Ravi Chloe Mateo Aisha Ivan Zoe")
LAST = words("Smith Garcia Müller Rossi Kim Novak Silva Dubois Okafor Jensen Tanaka Brown")
PLACES = [  # country, state, city, zip, phone code, time zone, ip prefix
    ("US", "CA", "San Diego", "92101", "+1", "America/Los_Angeles", "23.94"),
    ("US", "NY", "New York", "10001", "+1", "America/New_York", "71.190"),
    ("GB", "", "London", "EC1A 1BB", "+44", "Europe/London", "81.2"),
    ("DE", "BE", "Berlin", "10115", "+49", "Europe/Amsterdam", "85.214"),
    ("RO", "B", "Bucharest", "010011", "+40", "Europe/Bucharest", "86.120"),
    ("BR", "SP", "São Paulo", "01000-000", "+55", "America/Sao_Paulo", "177.32"),
    ("JP", "13", "Tokyo", "100-0001", "+81", "Asia/Tokyo", "126.0"),
]
IP_COUNTRY = {
    "US": "United States",
    "GB": "United Kingdom",
    "DE": "Germany",
    "RO": "Romania",
    "BR": "Brazil",
    "JP": "Japan",
}
SOURCES = words("single-optin double-optin helpdesk affiliate-signup checkout import api manual")

#: Days before the anchor that the account's dates cover.
HISTORY_DAYS = 90
#: The most recent of those days, left to play(): the generated history ends before them.
PLAYED_DAYS = 7
#: The first leads (the showcase with every relation kind among them) join in the first days
#: of the history, so that their rebills, cancellations and chargebacks have happened.
SHOWCASE_LEADS = 6
SHOWCASE_DAYS = 8
#: Kartra's rebill cycle (rendered as ``rebill_circle``).
REBILL_DAYS = 30
FOLLOW_UPS = {
    "r": "rebill",
    "f": "failed",
    "c": "cancellation",
    "R": "refund",
    "p": "partial_refund",
    "C": "chargeback",
}


def _session(booked: datetime, days: int) -> datetime:
    """A calendar session on the hour, ``days`` after ``booked``."""
    return kartra_time(kartra_after(booked, timedelta(days=days)).replace(minute=0, second=0))


def _join_dates(start: datetime, end: datetime, n_leads: int, rng: random.Random) -> list[datetime]:
    """``n_leads`` join dates in id order: the showcase leads a day or so apart in the first
    :data:`SHOWCASE_DAYS` after ``start``, the others rising towards ``end`` with a density
    that triples over the span (inverse CDF of ``(1 + 2t) / 2`` on ``[0, 1]``)."""
    step = timedelta(days=SHOWCASE_DAYS) / SHOWCASE_LEADS
    showcase = [
        kartra_after(start, step * (i + rng.random())) for i in range(min(n_leads, SHOWCASE_LEADS))
    ]
    first = kartra_after(start, timedelta(days=SHOWCASE_DAYS))
    span = elapsed(first, end)
    shares = sorted(
        (math.sqrt(1 + 8 * rng.random()) - 1) / 2 for _ in range(n_leads - len(showcase))
    )
    return showcase + [kartra_after(first, span * share) for share in shares]


def _profile(account: FakeAccount, index: int, joined: datetime, rng: random.Random) -> FakeLead:
    first, last = rng.choice(FIRST), rng.choice(LAST)
    country, state, city, zip_code, phone_cc, tz, ip = rng.choice(PLACES)
    gdpr = rng.randint(0, 5)
    ascii_last = last.replace("ü", "u")
    lead = FakeLead(
        id=account.new_id("lead", 1001),
        email=f"{first}.{ascii_last}{index}@example.com".lower(),
        first_name=first,
        last_name=last,
        date_joined=joined,
        middle_name=rng.choice(["", "", "J.", "Maria"]),
        username=f"{first}{ascii_last}{index}".lower(),
        company=rng.choice(["", "", "Acme Inc", "Studio Nine", "Kim & Co"]),
        phone_country_code=phone_cc,
        phone=str(rng.randint(2000000, 9999999)),
        ip=f"{ip}.{rng.randint(1, 254)}.{rng.randint(1, 254)}",
        ip_country=IP_COUNTRY[country],
        address=f"{rng.randint(1, 300)} Main St",
        zip=zip_code,
        city=city,
        state=state,
        country=country,
        website=rng.choice(["", "https://example.com", "https://blog.example.org"]),
        facebook=rng.choice(["", f"https://facebook.com/{first.lower()}"]),
        lead_preferred_time_zone=tz,
        source=rng.choice(SOURCES),
        source_id=rng.randint(0, 99),
        score=rng.choice([0, 0, 5, 10, 25, 60]),
        blacklisted=rng.random() < 0.03,
        gdpr_lead_status=gdpr,
        gdpr_agreed=rng.random() < 0.6,
        gdpr_lead_status_date=None if gdpr == 0 else kartra_after(joined, timedelta(minutes=1)),
        gdpr_lead_status_ip="" if gdpr == 0 else ip + ".1.1",
        notes=rng.choice(["", "", "Met at the workshop"]),
        sequence_key="tree_name" if index % 2 == 0 else "sequence_name",
        transaction_style="example" if (index // 2) % 2 == 0 else "table",
        empty_style="N/A" if index % 4 == 3 else "",
        empty_date_style="" if index % 3 == 2 else "0000-00-00 00:00:00",
    )
    if index > 3 and rng.random() < 0.2:
        lead.referring_id = rng.randint(1001, 1000 + index)
    for cf in account.custom_fields.values():
        if cf.type in TEXT_FIELD_TYPES:
            lead.custom_fields[cf.id] = rng.choice(["", "beef lasagna", "pad thai", "Hello!"])
        elif cf.type == "checkbox":
            lead.custom_fields[cf.id] = sorted(
                o.id for o in rng.sample(cf.options, rng.randint(0, 2))
            )
        else:
            lead.custom_fields[cf.id] = rng.choice([[], [rng.choice(cf.options).id]])
    return lead


def _purchase(
    account: FakeAccount,
    lead: FakeLead,
    product_id: int,
    number: int,
    when: datetime,
    rng: random.Random,
    follow_ups: str,
) -> None:
    """A sale at ``when`` plus follow-ups, in order: ``r`` rebill and ``f`` failed rebill (one
    :data:`REBILL_DAYS` cycle each), ``c`` cancellation (days after the previous one), ``R``
    refund, ``p`` partial refund and ``C`` chargeback (days after the sale). Follow-ups the
    account's clock has not reached yet are left out."""
    pp = account.price_point(product_id, number)
    sale = _sale(account, lead, product_id, number, when, rng)
    sale_id, sub_id = sale.id, sale.subscription_id
    txns = [sale]
    cycle, last = 0, when
    for code in follow_ups:
        kind = FOLLOW_UPS[code]
        if kind in ("rebill", "failed"):
            cycle += 1
            date = kartra_after(when, timedelta(days=REBILL_DAYS * cycle))
        elif kind == "cancellation":
            date = kartra_after(last, timedelta(days=rng.randint(2, 12), hours=rng.randint(0, 23)))
        else:
            date = kartra_after(when, timedelta(days=rng.randint(2, 24), hours=rng.randint(0, 23)))
        if date > account.now:
            break
        last = date
        amount = {"cancellation": D("0.00"), "partial_refund": (pp.amount / 3).quantize(D("0.01"))}
        txns.append(
            FakeTransaction(
                account.new_id("transaction", 50001),
                kind,
                product_id,
                number,
                amount.get(kind, pp.amount),
                date,
                parent_id=0 if kind in ("rebill", "failed", "cancellation") else sale_id,
                subscription_id=sub_id,
                pay_number=cycle + 1 if kind == "rebill" else 1,
                original_id=sale_id,
                base_amount=pp.amount,
            )
        )
        sub = next((s for s in lead.subscriptions if s.id == sub_id), None)
        if sub and kind == "rebill" and sub.payments_left != 9999:
            sub.payments_left = max(sub.payments_left - 1, 0)
        if sub and kind == "cancellation":
            sub.status, sub.payments_left = "cancelled", 0
    lead.transactions.extend(txns)


def _sale(
    account: FakeAccount,
    lead: FakeLead,
    product_id: int,
    number: int,
    when: datetime,
    rng: random.Random,
) -> FakeTransaction:
    """A sale of price point ``number`` at ``when``; a recurring one opens a subscription."""
    pp = account.price_point(product_id, number)
    sale_id = account.new_id("transaction", 50001)
    sub_id = 0
    if pp.recurring:
        sub_id = account.new_id("subscription", 7001)
        left = 9999 if pp.payments >= 9999 else pp.payments - 1
        lead.subscriptions.append(
            FakeSubscription(sub_id, product_id, number, sale_id, "active", left)
        )
    return FakeTransaction(
        sale_id,
        "sale",
        product_id,
        number,
        pp.amount,
        when,
        subscription_id=sub_id,
        original_id=sale_id,
        base_amount=pp.amount,
        processor=rng.choice(["Stripe", "PayPal", "Braintree", "Authorize.net"]),
        tax=D("0.00"),
    )


def _random_purchase(
    account: FakeAccount, lead: FakeLead, when: datetime, rng: random.Random
) -> None:
    """Any price point of any product bought at ``when``; a recurring one is rebilled every
    cycle since then, and any may have been cancelled or refunded."""
    product = rng.choice(list(account.products.values()))
    pp = rng.choice(product.price_points)
    if pp.recurring:
        cycles = elapsed(when, account.now) // timedelta(days=REBILL_DAYS)
        follow = "r" * min(cycles, pp.payments - 1) + rng.choice(["", "", "c", "R", "p"])
    else:
        follow = rng.choice(["", "", "R"])
    _purchase(account, lead, product.id, pp.number, when, rng, follow)


def _relations(account: FakeAccount, lead: FakeLead, rng: random.Random, full: bool) -> None:
    chance = (lambda p: True) if full else (lambda p: rng.random() < p)
    lead.tags = {
        t.id for t in rng.sample(list(account.tags.values()), rng.randint(1 if full else 0, 4))
    }
    for lst in rng.sample(list(account.lists.values()), 3 if full else rng.randint(0, 3)):
        lead.lists[lst.id] = FakeListSubscription(lst.id, rng.random() < 0.8)
    if full:
        first_list = next(iter(lead.lists))
        lead.lists[first_list].active = False
    seqs = rng.sample(list(account.sequences.values()), 3 if full else rng.randint(0, 2))
    for n, seq in enumerate(seqs):
        state = n % 3 if full else rng.randint(0, 2)
        step = seq.steps if state == 2 else rng.randint(1, seq.steps)
        status = "unsubscribed" if state == 1 else "active"
        lead.sequences[seq.id] = FakeSequenceSubscription(seq.id, step, status, state == 2)
    if chance(0.3):
        for membership in list(account.memberships.values())[: 2 if full else 1]:
            level = rng.choice(membership.levels)
            active = membership.id == 401 or not full
            lead.memberships[membership.id] = FakeMembershipAccess(membership.id, level.id, active)
    when = kartra_after(lead.date_joined, timedelta(hours=2))
    if full:
        _purchase(account, lead, 502, 2, when, rng, "rrc")
        _purchase(account, lead, 503, 1, when, rng, "rf")
        _purchase(account, lead, 501, 1, when, rng, "R")
        _purchase(account, lead, 506, 1, when, rng, "p")
        _purchase(account, lead, 505, 1, when, rng, "C")
    elif chance(0.4):
        _random_purchase(account, lead, when, rng)
    if not full and chance(0.4):  # customers come back: a purchase any time after joining
        later = kartra_after(when, elapsed(when, account.now) * rng.random())
        _random_purchase(account, lead, later, rng)
    if chance(0.15):
        _bookings(account, lead, when, rng, full)
    for survey in account.surveys.values():
        if chance(0.2):
            answers = {q.id: [rng.choice(q.options).id] for q in survey.questions}
            score = None if survey.type == 1 else rng.choice([0, 50, 100])
            done = kartra_after(when, min(timedelta(days=2), elapsed(when, account.now) / 2))
            lead.surveys.append(
                FakeSurveyResult(survey.id, score, rng.randint(20, 200), done, answers)
            )
    if chance(0.05):
        lead.affiliate_products.add(rng.choice(list(account.products)))
    if chance(0.05):
        lead.jv_products.add(rng.choice(list(account.products)))


def _bookings(
    account: FakeAccount, lead: FakeLead, when: datetime, rng: random.Random, full: bool
) -> None:
    """Calendar bookings a week or so after ``when``: one of each status when ``full``."""
    statuses = ["Active", "Pending", "Completed", "Declined", "Cancelled"]
    if _session(when, 7) > account.now:  # a session still to come cannot be completed
        statuses.remove("Completed")
    for n, status in enumerate(statuses if full else [rng.choice(statuses)]):
        calendar = rng.choice(list(account.calendars.values()))
        klass = rng.choice(calendar.classes)
        start = _session(when, 7 + n)
        events = [(start, 60), (_session(when, 8 + n), 40)][: rng.randint(1, 2)]
        lead.calendars.append(
            FakeCalendarSubscription(
                account.new_id("calendar_subscription", 1801),
                calendar.id,
                klass.id,
                status,
                events,
            )
        )


def generate_account(
    n_leads: int = 50, seed: int = 1, *, anchor: datetime | None = None
) -> FakeAccount:
    """A realistic demo account: the demo catalogue and ``n_leads`` leads dated from
    :data:`HISTORY_DAYS` to :data:`PLAYED_DAYS` before ``anchor`` (aware; default: the
    current time), with the account's clock left there. The same ``n_leads``, ``seed`` and
    ``anchor`` give the same account.

    Leads 0, 2, 3 and 5 get every relation kind (covering both ``tree_name``/``sequence_name``
    and both transaction key styles); lead 1 is deleted. Others are random. Every kind of
    relation occurs when ``n_leads >= 6``.
    """
    account = FakeAccount(seed=seed) if anchor is None else FakeAccount(seed=seed, anchor=anchor)
    rng = random.Random(seed)
    account.rng = random.Random(seed + 1)
    demo_catalogue(account)
    start = kartra_after(account.anchor, -timedelta(days=HISTORY_DAYS))
    account.now = kartra_after(account.anchor, -timedelta(days=PLAYED_DAYS))
    # The last join leaves its purchase (two hours later) before the clock.
    last_join = kartra_after(account.now, -timedelta(hours=3))
    for index, joined in enumerate(_join_dates(start, last_join, n_leads, rng)):
        lead = _profile(account, index, joined, rng)
        _relations(account, lead, rng, full=index in (0, 2, 3, 5))
        if index == 1 or (index > 5 and rng.random() < 0.05):
            lead.deleted = True
            lead.deleted_date = kartra_after(joined, elapsed(joined, account.now) * rng.random())
        account.leads[lead.id] = lead
    return account
