"""The relation sets a ``get_lead`` snapshot lists in full, and when each lead's were."""

from datetime import datetime

from leads.models import (
    CalendarSubscription,
    Lead,
    LeadTag,
    ListSubscription,
    MembershipAccess,
    SequenceSubscription,
    SurveyResult,
)

#: The ``lead_details`` key (002) whose list is the whole truth about each kind of row.
#: Transactions are absent: money history is append-only, never replaced.
RELATION_SETS: dict[str, type] = {
    "tags": LeadTag,
    "lists": ListSubscription,
    "sequences": SequenceSubscription,
    "memberships": MembershipAccess,
    "calendars": CalendarSubscription,
    "surveys": SurveyResult,
}


def lead_set_replaced_at(lead: Lead, key: str) -> datetime | None:
    """When the newest snapshot that listed the lead's relation set ``key`` (a
    ``lead_details`` key such as ``"tags"``) was requested, or None."""
    replaced = (lead.mirror_sets_replaced_at or {}).get(key)
    return datetime.fromisoformat(replaced) if replaced else None


def lead_sets_replaced(lead: Lead) -> dict[str, datetime]:
    """:func:`lead_set_replaced_at` of each relation set a snapshot has listed in full."""
    return {
        key: datetime.fromisoformat(replaced)
        for key, replaced in (lead.mirror_sets_replaced_at or {}).items()
        if replaced and key in RELATION_SETS
    }
