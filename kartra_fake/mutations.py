"""Mutations of the fake account. Each webhook-backed mutation changes the state and returns
the body Kartra's outbound API would POST for it (001 doc; survey_complete per kartra-facts.md):
``{"lead": {...}, "action": ..., "action_details": {...}}``.

Each delivery picks how ids travel (strings, integers, or 001's mixed example) and how
amounts travel (``"300.00"`` or ``300.0``), as the docs disagree.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import timedelta
from decimal import Decimal
from typing import Any

from .data import FakeAccountData
from .ipn import queue_ipn
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
    kartra_after,
    kartra_time,
)
from .render import (
    AmountStyle,
    IdStyle,
    as_id,
    events_block,
    hosts_block,
    survey_block,
    transaction_details,
    webhook_lead,
)

CENT = Decimal("0.01")


@dataclass(frozen=True)
class Mutation:
    """One applied change: the webhook ``action``, the lead and the arguments used."""

    action: str
    lead_id: int
    params: dict[str, Any] = field(default_factory=dict)


class MutationsMixin(FakeAccountData):
    """Webhook-backed mutations (one per documented action) and silent ones (no webhook)."""

    # -- body assembly ----------------------------------------------------------------------

    def _styles(self) -> tuple[IdStyle, AmountStyle]:
        style: IdStyle = self.rng.choice(("str", "int", "mixed"))
        amounts: AmountStyle = self.rng.choice(("str", "float"))
        return style, amounts

    def _body(
        self,
        lead: FakeLead,
        action: str,
        details: dict[str, Any],
        style: IdStyle,
        *,
        page_visit: bool = False,
    ) -> dict[str, Any]:
        lead.activity[action] += 1
        return {
            "lead": webhook_lead(self, lead, style, page_visit=page_visit),
            "action": action,
            "action_details": details,
        }

    def _named(
        self, lead_id: int, action: str, key: str, item: Any, *, page_visit=False
    ) -> dict[str, Any]:
        style, _ = self._styles()
        ids = "int" if style == "mixed" else style
        details = {key: {f"{key}_id": as_id(item.id, ids), f"{key}_name": item.name}}
        return self._body(self.lead(lead_id), action, details, style, page_visit=page_visit)

    # -- lists, tags, forms, sequences ------------------------------------------------------

    def list_subscription(self, lead_id: int, list_id: int) -> dict[str, Any]:
        """Subscribe (or re-activate) the lead on a list."""
        with self.lock:
            self.lead(lead_id).lists[list_id] = FakeListSubscription(list_id, True)
            return self._named(lead_id, "list_subscription", "list", self.lists[list_id])

    def list_unsubscription(self, lead_id: int, list_id: int) -> dict[str, Any]:
        """The lead stays on the list, inactive (get_lead shows ``"active": "0"``)."""
        with self.lock:
            self.lead(lead_id).lists[list_id] = FakeListSubscription(list_id, False)
            return self._named(lead_id, "list_unsubscription", "list", self.lists[list_id])

    def assign_tag(self, lead_id: int, tag_id: int) -> dict[str, Any]:
        """Tag the lead."""
        with self.lock:
            self.lead(lead_id).tags.add(tag_id)
            return self._named(lead_id, "assign_tag", "tag", self.tags[tag_id])

    def unassign_tag(self, lead_id: int, tag_id: int) -> dict[str, Any]:
        """Remove a tag from the lead."""
        with self.lock:
            self.lead(lead_id).tags.discard(tag_id)
            return self._named(lead_id, "unassign_tag", "tag", self.tags[tag_id])

    def filled_form(self, lead_id: int, form_id: int) -> dict[str, Any]:
        """001 puts form_id/form_name under the key ``"tag"``; so do we."""
        with self.lock:
            lead = self.lead(lead_id)
            lead.forms.append(form_id)
            style, _ = self._styles()
            ids = "int" if style == "mixed" else style
            form = self.forms[form_id]
            details = {"tag": {"form_id": as_id(form.id, ids), "form_name": form.name}}
            return self._body(lead, "filled_form", details, style)

    def _sequence(self, lead_id: int, sequence_id: int, action: str) -> dict:
        return self._named(lead_id, action, "sequence", self.sequences[sequence_id])

    def sequence_subscription(self, lead_id: int, sequence_id: int) -> dict:
        """Start the lead at step 1."""
        with self.lock:
            self.lead(lead_id).sequences[sequence_id] = FakeSequenceSubscription(
                sequence_id, 1, "active"
            )
            return self._sequence(lead_id, sequence_id, "sequence_subscription")

    def sequence_unsubscription(self, lead_id: int, sequence_id: int) -> dict:
        """Stop the lead's sequence where it is."""
        with self.lock:
            lead = self.lead(lead_id)
            current = lead.sequences.get(sequence_id) or FakeSequenceSubscription(
                sequence_id, 1, ""
            )
            lead.sequences[sequence_id] = replace(current, status="unsubscribed")
            return self._sequence(lead_id, sequence_id, "sequence_unsubscription")

    def sequence_completion(self, lead_id: int, sequence_id: int) -> dict:
        """Move to the last step. get_lead documents only active/unsubscribed, so the status
        stays ``active``; ``completed`` is kept for the truth."""
        with self.lock:
            lead = self.lead(lead_id)
            steps = self.sequences[sequence_id].steps
            lead.sequences[sequence_id] = FakeSequenceSubscription(
                sequence_id, steps, "active", True
            )
            return self._sequence(lead_id, sequence_id, "sequence_completion")

    # -- clicks, videos, pages, score -------------------------------------------------------

    def click_tracking_link(self, lead_id: int, link_id: int) -> dict:
        """A click on a tracking link (activity only)."""
        with self.lock:
            link = self.tracking_links[link_id]
            return self._named(lead_id, "click_tracking_link", "tracking_link", link)

    def click_page_split_test_link(self, lead_id: int, link_id: int) -> dict:
        """A click on a page split-test link (activity only)."""
        with self.lock:
            link = self.split_test_links[link_id]
            return self._named(lead_id, "click_page_split_test_link", "page_split_test_link", link)

    def video_play(self, lead_id: int, video_id: int) -> dict:
        """The lead played a video."""
        with self.lock:
            return self._named(lead_id, "video_play", "video", self.videos[video_id])

    def video_complete(self, lead_id: int, video_id: int) -> dict:
        """The lead finished a video."""
        with self.lock:
            return self._named(lead_id, "video_complete", "video", self.videos[video_id])

    def kartra_page_visit(self, lead_id: int, page_id: int) -> dict:
        """A page visit; its lead block follows the 000 doc, not 001."""
        with self.lock:
            page = self.pages[page_id]
            return self._named(lead_id, "kartra_page_visit", "kartra_page", page, page_visit=True)

    def reaches_score(self, lead_id: int, points: int) -> dict:
        """The lead's score reaches ``points``; details are ``{"points": n}``, not nested."""
        with self.lock:
            lead = self.lead(lead_id)
            lead.score = points
            style, _ = self._styles()
            details = {"points": as_id(points, "int" if style == "mixed" else style)}
            return self._body(lead, "reaches_score", details, style)

    # -- memberships and products -----------------------------------------------------------

    def _membership(self, lead: FakeLead, access: FakeMembershipAccess, action: str) -> dict:
        style, _ = self._styles()
        ids = "int" if style == "mixed" else style
        membership = self.memberships[access.membership_id]
        level = self.level(access.membership_id, access.level_id)
        details = {
            "membership": {
                "membership_id": as_id(membership.id, ids),
                "membership_name": membership.name,
                "level_id": as_id(level.id, ids),
                "level_name": level.name,
            }
        }
        return self._body(lead, action, details, style)

    def membership_granted(self, lead_id: int, membership_id: int, level_id: int) -> dict:
        """Grant (or move to) a membership level."""
        with self.lock:
            lead = self.lead(lead_id)
            access = FakeMembershipAccess(membership_id, level_id, True)
            lead.memberships[membership_id] = access
            return self._membership(lead, access, "membership_granted")

    def membership_revoked(self, lead_id: int, membership_id: int) -> dict:
        """Revoke the lead's access to a membership (level kept, inactive)."""
        with self.lock:
            lead = self.lead(lead_id)
            access = replace(lead.memberships[membership_id], active=False)
            lead.memberships[membership_id] = access
            return self._membership(lead, access, "membership_revoked")

    def _product_signup(self, lead_id: int, product_id: int, action: str) -> dict:
        lead = self.lead(lead_id)
        (lead.affiliate_products if action == "affiliate_signup" else lead.jv_products).add(
            product_id
        )
        style, _ = self._styles()
        ids = "int" if style == "mixed" else style
        product = self.products[product_id]
        details = {
            "product": {
                "product_id": as_id(product.id, ids),
                "product_name": product.name,
                "official_product_name": product.official_name,
            }
        }
        return self._body(lead, action, details, style)

    def affiliate_signup(self, lead_id: int, product_id: int) -> dict:
        """The lead signs up as an affiliate of a product."""
        with self.lock:
            return self._product_signup(lead_id, product_id, "affiliate_signup")

    def jv_signup(self, lead_id: int, product_id: int) -> dict:
        """The lead signs up as a JV partner of a product."""
        with self.lock:
            return self._product_signup(lead_id, product_id, "jv_signup")

    # -- transactions -----------------------------------------------------------------------

    def _transaction_body(self, lead: FakeLead, txn: FakeTransaction, action: str) -> dict:
        lead.transactions.append(txn)
        queue_ipn(self, lead, txn)
        style, amounts = self._styles()
        details = {"transaction_details": transaction_details(self, lead, txn, style, amounts)}
        return self._body(lead, action, details, style)

    def buy_product(self, lead_id: int, product_id: int, price_point: int = 1) -> dict[str, Any]:
        """A sale; a recurring price point also opens a subscription."""
        with self.lock:
            lead = self.lead(lead_id)
            pp = self.price_point(product_id, price_point)
            txn_id = self.new_id("transaction", 50001)
            sub_id = 0
            if pp.recurring:
                sub_id = self.new_id("subscription", 7001)
                left = 9999 if pp.payments >= 9999 else max(pp.payments - 1, 0)
                lead.subscriptions.append(
                    FakeSubscription(sub_id, product_id, price_point, txn_id, "active", left)
                )
            txn = FakeTransaction(
                txn_id,
                "sale",
                product_id,
                price_point,
                pp.amount,
                self.now,
                subscription_id=sub_id,
                original_id=txn_id,
                base_amount=pp.amount,
            )
            return self._transaction_body(lead, txn, "buy_product")

    def _refund(
        self, lead: FakeLead, sale_id: int, amount: Decimal | None, kind: str
    ) -> FakeTransaction:
        sale = next(t for t in lead.transactions if t.id == sale_id)
        amount = sale.amount if amount is None else amount.quantize(CENT)
        return FakeTransaction(
            self.new_id("transaction", 50001),
            kind,
            sale.product_id,
            sale.price_point,
            amount,
            self.now,
            parent_id=sale.id,
            subscription_id=sale.subscription_id,
            original_id=sale.original_id or sale.id,
            base_amount=sale.base_amount,
            processor=sale.processor,
        )

    def refund_product(self, lead_id: int, transaction_id: int) -> dict:
        """Refund a sale in full."""
        with self.lock:
            lead = self.lead(lead_id)
            txn = self._refund(lead, transaction_id, None, "refund")
            return self._transaction_body(lead, txn, "refund_product")

    def partial_refund_product(
        self, lead_id: int, transaction_id: int, amount: Decimal | None = None
    ) -> dict:
        """Refund part of a sale (half when ``amount`` is not given)."""
        with self.lock:
            lead = self.lead(lead_id)
            sale = next(t for t in lead.transactions if t.id == transaction_id)
            amount = amount if amount is not None else (sale.amount / 2)
            txn = self._refund(lead, transaction_id, amount, "partial_refund")
            return self._transaction_body(lead, txn, "partial_refund_product")

    def cancel_subscription(self, lead_id: int, subscription_id: int) -> dict:
        """Cancel a subscription; Kartra records a ``Cancellation`` transaction."""
        with self.lock:
            lead = self.lead(lead_id)
            sub = next(s for s in lead.subscriptions if s.id == subscription_id)
            sub.status, sub.payments_left = "cancelled", 0
            txn = FakeTransaction(
                self.new_id("transaction", 50001),
                "cancellation",
                sub.product_id,
                sub.price_point,
                Decimal("0.00"),
                self.now,
                subscription_id=sub.id,
                original_id=sub.original_transaction_id,
            )
            return self._transaction_body(lead, txn, "cancel_subscription")

    # -- calendars and surveys --------------------------------------------------------------

    def _calendar_body(self, lead: FakeLead, sub: FakeCalendarSubscription, action: str):
        style, _ = self._styles()
        ids = "int" if style == "mixed" else style
        calendar = self.calendars[sub.calendar_id]
        klass = next(c for c in calendar.classes if c.id == sub.class_id)
        block: dict[str, Any] = {
            "calendar_id": as_id(calendar.id, ids),
            "calendar_name": calendar.name,
            "class_id": as_id(klass.id, ids),
            "class_name": klass.name,
        }
        # kartra-facts.md: calendar events "may also carry" these; some deliveries do.
        if self.rng.random() < 0.5:
            block["hosts"] = hosts_block(self, calendar.id)
            block["vendor_timezone"] = calendar.vendor_timezone
            block["calendar_subscription_id"] = as_id(sub.id, ids)
            block["events"] = events_block(sub)
        return self._body(lead, action, {"calendar": block}, style)

    def calendar_subscribe(
        self, lead_id: int, calendar_id: int, class_id: int, minutes: int = 60
    ) -> dict:
        """Book a class a few days after the account's ``now`` (the session may lie after
        the anchor: it is still to come)."""
        with self.lock:
            lead = self.lead(lead_id)
            later = kartra_after(self.now, timedelta(days=3))
            start = kartra_time(later.replace(minute=0, second=0))  # on the hour
            sub = FakeCalendarSubscription(
                self.new_id("calendar_subscription", 1801),
                calendar_id,
                class_id,
                "Active",
                [(start, minutes)],
            )
            lead.calendars.append(sub)
            return self._calendar_body(lead, sub, "calendar_subscribe")

    def _calendar_status(self, lead_id: int, sub_id: int, status, action: str):
        with self.lock:
            lead = self.lead(lead_id)
            sub = next(c for c in lead.calendars if c.id == sub_id)
            sub.status = status
            return self._calendar_body(lead, sub, action)

    def calendar_complete(self, lead_id: int, subscription_id: int) -> dict:
        """Mark a calendar subscription Completed."""
        return self._calendar_status(lead_id, subscription_id, "Completed", "calendar_complete")

    def calendar_cancel(self, lead_id: int, subscription_id: int) -> dict:
        """Mark a calendar subscription Cancelled."""
        return self._calendar_status(lead_id, subscription_id, "Cancelled", "calendar_cancel")

    def survey_complete(
        self, lead_id: int, survey_id: int, answers: dict[int, list[int]] | None = None
    ) -> dict:
        """Record a survey/quiz result (``answers`` default: each question's first option)."""
        with self.lock:
            lead = self.lead(lead_id)
            survey = self.surveys[survey_id]
            answers = answers or {q.id: [q.options[0].id] for q in survey.questions}
            score = None
            if survey.type == 2:
                right = sum(
                    sorted(answers.get(q.id, [])) == sorted(q.correct_option_ids)
                    for q in survey.questions
                )
                score = round(100 * right / len(survey.questions))
            result = FakeSurveyResult(survey_id, score, 30 + 5 * len(answers), self.now, answers)
            lead.surveys = [s for s in lead.surveys if s.survey_id != survey_id] + [result]
            style, _ = self._styles()
            block = survey_block(
                self, result, "int" if style == "mixed" else style, with_date=False
            )
            return self._body(lead, "survey_complete", {"survey": block}, style)

    # -- silent mutations (no webhook is documented for them) -------------------------------

    def create_lead(self, email: str, first_name: str, last_name: str, **profile):
        """Add a lead (as an opt-in would); returns the :class:`FakeLead`."""
        with self.lock:
            lead = FakeLead(
                self.new_id("lead", 1001), email, first_name, last_name, self.now, **profile
            )
            for cf in self.custom_fields.values():
                lead.custom_fields[cf.id] = "" if cf.type in TEXT_FIELD_TYPES else []
            self.leads[lead.id] = lead
            return lead

    def edit_lead(self, lead_id: int, **profile: Any) -> FakeLead:
        """Change profile fields; the next webhook's lead block shows them."""
        with self.lock:
            lead = self.lead(lead_id)
            for name, value in profile.items():
                if not hasattr(lead, name):
                    raise AttributeError(name)
                setattr(lead, name, value)
            return lead

    def set_custom_field(self, lead_id: int, identifier: str, value) -> None:
        """Set a custom field by identifier: text, or a list of option ids."""
        with self.lock:
            cf = next(f for f in self.custom_fields.values() if f.identifier == identifier)
            self.lead(lead_id).custom_fields[cf.id] = value

    def delete_lead(self, lead_id: int) -> None:
        """Delete a lead: get_lead answers 245 from now on."""
        with self.lock:
            lead = self.lead(lead_id)
            lead.deleted, lead.deleted_date = True, self.now
