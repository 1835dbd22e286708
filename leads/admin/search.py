"""Lead search that each term sends to an index rather than a scan of every lead.

The shape of the term decides where it looks:

- digits only: the Kartra id (exact), and the phone when it is long enough to be one;
- contains ``@``, or looks like the start of one (``paul.hern``, ``jsmith84``): the email,
  exact or prefix, on ``LOWER(email)`` (btree ``text_pattern_ops`` index on PostgreSQL,
  see ``leads/migrations/0003_admin_indexes.py``);
- anything else: each word in the first or last name or as an email prefix; a
  phone-looking term also matches the phone. Names and phone use Django's ``icontains``
  (``UPPER(col) LIKE``), which the trigram indexes of ``0002_api_indexes`` serve.
"""

from __future__ import annotations

import re

from django.db.models import Q, QuerySet
from django.db.models.functions import Lower
from django.db.models.lookups import Exact, StartsWith

from kartra_mirror.admin import COUNT_BOUND
from leads.models import Lead

_PHONE = re.compile(r"^\+?[\d\s().-]{6,}$")
# One word with a dot, underscore or plus, or letters and digits together: the start of an
# email address ("paul.hern", "jsmith84"), not a name. Sent to the email index alone, where
# PostgreSQL estimates it well; OR-ed with the name scans it can pick a slow plan.
_EMAIL_LOCAL_PART = re.compile(r"^(?=\S*[a-z])(?=\S*[._+\d])[\w.+-]+$", re.IGNORECASE)
# A Kartra id fits a signed 64-bit integer; longer digit strings can only be phones.
_MAX_ID_DIGITS = 18
_MIN_PHONE_DIGITS = 6


def email_q(term: str) -> Q:
    """Email equal to or starting with ``term``, case-insensitively."""
    email = Lower("email")
    value = term.lower()
    return Q(Exact(email, value)) | Q(StartsWith(email, value))


def lead_search_q(term: str) -> Q | None:
    """The condition a search box term puts on leads; None for a blank term."""
    term = term.strip()
    if not term:
        return None
    if term.startswith("#") and term[1:].isdigit():
        term = term[1:]
    if term.isdigit():
        condition = Q()
        if len(term) <= _MAX_ID_DIGITS:
            condition |= Q(kartra_id=int(term))
        if len(term) >= _MIN_PHONE_DIGITS:
            condition |= Q(phone__icontains=term)
        return condition
    if "@" in term or _EMAIL_LOCAL_PART.match(term):
        return email_q(term)
    condition = Q()
    for word in term.split():
        condition &= (
            Q(first_name__icontains=word)
            | Q(last_name__icontains=word)
            | Q(StartsWith(Lower("email"), word.lower()))
        )
    if _PHONE.match(term):
        digits = re.sub(r"\D", "", term)
        condition |= Q(phone__icontains=term)
        if len(digits) >= _MIN_PHONE_DIGITS:
            condition |= Q(phone__icontains=digits)
    return condition


def matching_leads(term: str) -> QuerySet | None:
    """The primary keys of the leads a search term finds, at most ``COUNT_BOUND + 1`` of
    them; None for a blank term.

    Used as ``pk__in`` / ``lead__in``, the LIMIT makes a fence PostgreSQL cannot flatten:
    it collects the matches through the search indexes first and sorts only those. Without
    it, a list ordered by an indexed column with LIMIT 50 tempts the planner to walk that
    index and test every lead until 50 match, which on a misestimated term reads most of
    the table. A term matching more leads than the bound lists that many of them (the count
    says "more than"), which is what such a term deserves.
    """
    condition = lead_search_q(term)
    if condition is None:
        return None
    return Lead.objects.filter(condition).order_by().values("pk")[: COUNT_BOUND + 1]


class LeadSearchMixin:
    """Search a model admin's rows by their lead (``lead_path`` leads from the row to it)."""

    lead_path = "lead"
    search_fields = ("lead__email",)  # shows the search box; the lookup is matching_leads
    search_help_text = "Search by the lead's email (exact or prefix), name, phone or Kartra id."

    def lead_condition(self, search_term: str) -> Q | None:
        leads = matching_leads(search_term)
        return None if leads is None else Q(**{f"{self.lead_path}__in": leads})

    def get_search_results(self, request, queryset, search_term):
        condition = self.lead_condition(search_term)
        if condition is None:
            return queryset, False
        return queryset.filter(condition), False
