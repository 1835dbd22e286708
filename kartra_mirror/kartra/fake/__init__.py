"""A faithful fake of Kartra: the inbound API as a real loopback HTTP server
(:class:`FakeKartra`) over an in-memory account (:class:`FakeAccount`) whose mutations return
the outbound webhook bodies Kartra would send, and queue its IPNs when asked to (``.ipn``).

Run it standalone with ``python -m kartra_mirror.kartra.fake --port 8765 --leads 300``.
"""

from .account import FakeAccount
from .ipn import IPN_KEYS, ipn_body, ipn_fields, post_ipn
from .model import (
    KARTRA_TZ,
    Calendar,
    CalendarSubscription,
    CustomField,
    Host,
    Lead,
    ListSubscription,
    Membership,
    MembershipAccess,
    MembershipLevel,
    Named,
    PricePoint,
    Product,
    Sequence,
    SequenceSubscription,
    Subscription,
    Survey,
    SurveyQuestion,
    SurveyResult,
    Transaction,
)
from .mutations import Mutation
from .play import ACTIONS as PLAYABLE_ACTIONS
from .render import PAGE_VISIT_LEAD_KEYS, WEBHOOK_LEAD_KEYS
from .server import UNKNOWN_COMMAND_TYPE, FakeKartra, RecordedRequest, post_webhook

WEBHOOK_ACTIONS = tuple(PLAYABLE_ACTIONS)

__all__ = [
    "IPN_KEYS",
    "KARTRA_TZ",
    "PAGE_VISIT_LEAD_KEYS",
    "UNKNOWN_COMMAND_TYPE",
    "WEBHOOK_ACTIONS",
    "WEBHOOK_LEAD_KEYS",
    "Calendar",
    "CalendarSubscription",
    "CustomField",
    "FakeAccount",
    "FakeKartra",
    "Host",
    "Lead",
    "ListSubscription",
    "Membership",
    "MembershipAccess",
    "MembershipLevel",
    "Mutation",
    "Named",
    "PricePoint",
    "Product",
    "RecordedRequest",
    "Sequence",
    "SequenceSubscription",
    "Subscription",
    "Survey",
    "SurveyQuestion",
    "SurveyResult",
    "Transaction",
    "ipn_body",
    "ipn_fields",
    "post_ipn",
    "post_webhook",
]
