"""Transactions and the subscriptions they belong to."""

from rest_framework import serializers

from kartra_mirror.api.serializers import (
    CatalogBriefSerializer,
    KartraIdField,
    KartraSerializer,
    LeadBriefSerializer,
)
from leads.models import (
    ProductSignup,
    Subscription,
    SubscriptionStatus,
    Transaction,
)

from .base import LEAD_HEAVY

# --- commerce -----------------------------------------------------------------------------

TRANSACTION_BRIEF_FIELDS = (
    "id",
    "url",
    "product",
    "price_point",
    "transaction_type",
    "transaction_date",
    "amount",
    "subscription_kartra_id",
    "observed_at",
)


class TransactionBriefSerializer(KartraSerializer):
    id = KartraIdField(allow_null=False)  # a transaction is always known by its id
    product = CatalogBriefSerializer(read_only=True, allow_null=True)
    subscription_kartra_id = serializers.IntegerField(
        source="subscription.kartra_id", read_only=True, allow_null=True, default=None
    )

    class Meta:
        model = Transaction
        fields = TRANSACTION_BRIEF_FIELDS


class TransactionSerializer(TransactionBriefSerializer):
    lead = LeadBriefSerializer(read_only=True)

    class Meta:
        model = Transaction
        fields = (
            *TRANSACTION_BRIEF_FIELDS,
            "lead",
            "full_amount",
            "base_amount",
            "discount",
            "tax",
            "shipping",
            "parent_kartra_id",
            "original_kartra_id",
            "subscription_pay_number",
            "buyer_first_name",
            "buyer_last_name",
            "buyer_email",
            "buyer_username",
            "buyer_billing_country",
            "buyer_billing_state",
            "buyer_billing_phone_country_code",
            "buyer_billing_phone_number",
            "buyer_billing_address",
            "buyer_billing_city",
            "buyer_billing_zip",
            "shipping_first_name",
            "shipping_last_name",
            "shipping_address",
            "shipping_city",
            "shipping_zip",
            "shipping_country",
            "shipping_state",
            "affiliate",
            "jv",
            "vendor_tracking_id_1",
            "vendor_tracking_id_2",
            "vendor_tracking_link",
            "trial_payment",
            "trial_period",
            "rebill_circle",
            "payments_left",
            "payment_processor_type",
        )
        select_related = ("lead", "product", "subscription")
        defer = ("raw", *LEAD_HEAVY)


class SubscriptionSerializer(KartraSerializer):
    """A subscription, its status as of the request (``leads.revenue``: derived from the
    facts below, never stored) and the transaction that set it."""

    id = KartraIdField(allow_null=False)
    lead = LeadBriefSerializer(read_only=True)
    product = CatalogBriefSerializer(read_only=True, allow_null=True)
    status = serializers.ChoiceField(
        choices=SubscriptionStatus.choices,
        read_only=True,
        help_text="active, trial, failed_payment, cancelled or completed (see the README).",
    )
    status_set_by = serializers.IntegerField(
        read_only=True,
        allow_null=True,
        help_text="Kartra's id of the transaction that set the status.",
    )
    status_since = serializers.DateTimeField(
        read_only=True, allow_null=True, help_text="That transaction's time."
    )

    class Meta:
        model = Subscription
        fields = (
            "id",
            "url",
            "lead",
            "product",
            "price_point",
            "status",
            "status_set_by",
            "status_since",
            "first_sale_kartra_id",
            "first_sale_at",
            "payments_made",
            "payments_left",
            "last_payment_kartra_id",
            "last_payment_at",
            "failed_payments",
            "last_failure_kartra_id",
            "last_failure_at",
            "trial_ends_at",
            "cancelled",
            "cancelled_at",
            "cancellation_kartra_id",
            "recurring_amount",
            "billing_days",
            "monthly_amount",
            "observed_at",
        )
        select_related = ("lead", "product")
        defer = LEAD_HEAVY


class ProductSignupSerializer(serializers.ModelSerializer):
    """A lead's affiliate or JV sign-up for a product."""

    product = CatalogBriefSerializer(read_only=True)

    class Meta:
        model = ProductSignup
        fields = ("kind", "product", "signed_up_at")
