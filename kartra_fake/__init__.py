"""A faithful fake of Kartra: the inbound API as a real loopback HTTP server
(:class:`FakeKartra`) over an in-memory account (:class:`FakeAccount`) whose mutations return
the outbound webhook bodies Kartra would send, and queue its IPNs when asked to (``.ipn``).

It depends on nothing in the product (tests check it), so the demo, the benchmarks and the
tests drive the product against it as against Kartra itself. Build an account with
:func:`generate_account`, play activity on it with :func:`play_events`, read a lead as
``get_lead`` answers it with :func:`lead_details` and as a correct mirror holds it with
:func:`expected_state`.

Run it standalone with ``python -m kartra_fake --port 8765 --leads 300``.
"""

from .account import FakeAccount
from .data import FakeAccountData
from .generate import generate_account
from .ipn import IPN_KEYS, ipn_body, ipn_fields, post_ipn
from .model import (
    KARTRA_TZ,
    FakeCalendar,
    FakeCalendarSubscription,
    FakeCustomField,
    FakeHost,
    FakeLead,
    FakeListSubscription,
    FakeMembership,
    FakeMembershipAccess,
    FakeMembershipLevel,
    FakeNamed,
    FakePricePoint,
    FakeProduct,
    FakeSequence,
    FakeSequenceSubscription,
    FakeSubscription,
    FakeSurvey,
    FakeSurveyQuestion,
    FakeSurveyResult,
    FakeTransaction,
)
from .mutations import Mutation
from .play import ACTIONS as PLAYABLE_ACTIONS
from .play import play_events
from .render import PAGE_VISIT_LEAD_KEYS, WEBHOOK_LEAD_KEYS, lead_details
from .server import UNKNOWN_COMMAND_TYPE, FakeKartra, RecordedRequest, post_webhook
from .state import expected_state

WEBHOOK_ACTIONS = tuple(PLAYABLE_ACTIONS)

__all__ = [
    "IPN_KEYS",
    "KARTRA_TZ",
    "PAGE_VISIT_LEAD_KEYS",
    "UNKNOWN_COMMAND_TYPE",
    "WEBHOOK_ACTIONS",
    "WEBHOOK_LEAD_KEYS",
    "FakeAccount",
    "FakeAccountData",
    "FakeCalendar",
    "FakeCalendarSubscription",
    "FakeCustomField",
    "FakeHost",
    "FakeKartra",
    "FakeLead",
    "FakeListSubscription",
    "FakeMembership",
    "FakeMembershipAccess",
    "FakeMembershipLevel",
    "FakeNamed",
    "FakePricePoint",
    "FakeProduct",
    "FakeSequence",
    "FakeSequenceSubscription",
    "FakeSubscription",
    "FakeSurvey",
    "FakeSurveyQuestion",
    "FakeSurveyResult",
    "FakeTransaction",
    "Mutation",
    "RecordedRequest",
    "expected_state",
    "generate_account",
    "ipn_body",
    "ipn_fields",
    "lead_details",
    "play_events",
    "post_ipn",
    "post_webhook",
]
