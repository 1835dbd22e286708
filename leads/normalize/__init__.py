"""Pure normalisation of Kartra's JSON into typed records (no database, no request).

Kartra's five documentation files in ``shared/kartra-docs/`` are the specification; each
module cites the file behind every quirk it handles. Every failure is a
:class:`PayloadError` naming the offending field and value.
"""

from .catalog import parse_account_names, parse_custom_fields, parse_pages
from .errors import PayloadError
from .ipn import IPN_ACTIONS, IPN_TYPES, parse_ipn
from .jsonlenient import loads_lenient
from .records import (
    AnswerRecord,
    CalendarRecord,
    CatalogRef,
    CustomFieldRecord,
    CustomValueRecord,
    IpnEvent,
    LeadSnapshot,
    ListState,
    MembershipRecord,
    MembershipState,
    OptionRef,
    ProductRef,
    ProfileRecord,
    SequenceState,
    SurveyRecord,
    TransactionRecord,
    WebhookEvent,
)
from .snapshot import parse_lead_details
from .webhook import WEBHOOK_ACTIONS, parse_webhook, webhook_first_look

__all__ = [
    "IPN_ACTIONS",
    "IPN_TYPES",
    "WEBHOOK_ACTIONS",
    "AnswerRecord",
    "CalendarRecord",
    "CatalogRef",
    "CustomFieldRecord",
    "CustomValueRecord",
    "IpnEvent",
    "LeadSnapshot",
    "ListState",
    "MembershipRecord",
    "MembershipState",
    "OptionRef",
    "PayloadError",
    "ProductRef",
    "ProfileRecord",
    "SequenceState",
    "SurveyRecord",
    "TransactionRecord",
    "WebhookEvent",
    "loads_lenient",
    "parse_account_names",
    "parse_custom_fields",
    "parse_ipn",
    "parse_lead_details",
    "parse_pages",
    "parse_webhook",
    "webhook_first_look",
]
