"""How the mirrored account reads over the API.

Every row of a mirrored Kartra object shows Kartra's id as ``id`` (null until Kartra gives
one) and its ``url`` (``kartra_mirror/api/addressing.py``). Rows point at each other by
Kartra id, url and name (``CatalogBriefSerializer``, ``LeadBriefSerializer``), which is what
a caller can use in the next request. Each serializer's ``Meta`` says which
relations it reads; ``MirrorViewSet`` loads them once per page.
"""

from .catalog import (
    AssetSerializer,
    CalendarClassSerializer,
    CalendarSerializer,
    ClassBriefSerializer,
    CustomFieldOptionSerializer,
    CustomFieldSerializer,
    LevelBriefSerializer,
    ListSerializer,
    MembershipLevelSerializer,
    MembershipSerializer,
    PricePointSerializer,
    ProductSerializer,
    SequenceSerializer,
    SurveyOptionSerializer,
    SurveyQuestionSerializer,
    SurveySerializer,
    TagSerializer,
)
from .commerce import (
    TRANSACTION_BRIEF_FIELDS,
    SubscriptionSerializer,
    TransactionBriefSerializer,
    TransactionSerializer,
)
from .history import ChangeSerializer
from .lead import (
    CUSTOM_FIELDS_SCHEMA,
    LEAD_LIST_COLUMNS,
    LEAD_LIST_FIELDS,
    LEAD_MIRROR_FIELDS,
    LEAD_PROFILE_FIELDS,
    LEAD_RELATION_FIELDS,
    LeadDetailSerializer,
    LeadSerializer,
)
from .state import (
    ANSWERS,
    CALENDAR_SUBSCRIPTION_FIELDS,
    SURVEY_RESULT_FIELDS,
    CalendarEventSerializer,
    CalendarSubscriptionSerializer,
    HostsField,
    LeadCalendarSubscriptionSerializer,
    LeadSurveyResultSerializer,
    LeadTagSerializer,
    ListSubscriptionSerializer,
    MembershipAccessSerializer,
    SequenceSubscriptionSerializer,
    SurveyAnswerSerializer,
    SurveyResultSerializer,
)

__all__ = [
    "ChangeSerializer",
    "ANSWERS",
    "AssetSerializer",
    "CALENDAR_SUBSCRIPTION_FIELDS",
    "CUSTOM_FIELDS_SCHEMA",
    "CalendarClassSerializer",
    "CalendarEventSerializer",
    "CalendarSerializer",
    "CalendarSubscriptionSerializer",
    "ClassBriefSerializer",
    "CustomFieldOptionSerializer",
    "CustomFieldSerializer",
    "HostsField",
    "LEAD_LIST_COLUMNS",
    "LEAD_LIST_FIELDS",
    "LEAD_MIRROR_FIELDS",
    "LEAD_PROFILE_FIELDS",
    "LEAD_RELATION_FIELDS",
    "LeadCalendarSubscriptionSerializer",
    "LeadDetailSerializer",
    "LeadSerializer",
    "LeadSurveyResultSerializer",
    "LeadTagSerializer",
    "LevelBriefSerializer",
    "ListSerializer",
    "ListSubscriptionSerializer",
    "MembershipAccessSerializer",
    "MembershipLevelSerializer",
    "MembershipSerializer",
    "PricePointSerializer",
    "ProductSerializer",
    "SURVEY_RESULT_FIELDS",
    "SequenceSerializer",
    "SequenceSubscriptionSerializer",
    "SubscriptionSerializer",
    "SurveyAnswerSerializer",
    "SurveyOptionSerializer",
    "SurveyQuestionSerializer",
    "SurveyResultSerializer",
    "SurveySerializer",
    "TRANSACTION_BRIEF_FIELDS",
    "TagSerializer",
    "TransactionBriefSerializer",
    "TransactionSerializer",
]
