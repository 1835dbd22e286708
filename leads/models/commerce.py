"""Transactions and the recurring subscriptions they belong to."""

from django.db import models

from .base import Observed, label_or_value
from .catalog import Product
from .lead import Lead


class TransactionType(models.TextChoices):
    """The documented types; ``Transaction.transaction_type`` keeps any other as sent."""

    SALE = "sale", "sale"
    REFUND = "refund", "refund"
    PARTIAL_REFUND = "partial_refund", "partial refund"
    CANCELLATION = "cancellation", "cancellation"
    REBILL = "rebill", "rebill"
    CHARGEBACK = "chargeback", "chargeback"
    FAILED = "failed", "failed"


class SubscriptionStatus(models.TextChoices):
    """What a subscription's stored facts say of it now (``leads.revenue.subscription_status``
    derives it; it is never stored, so that a trial ends on its own)."""

    ACTIVE = "active", "active"
    TRIAL = "trial", "trial"
    FAILED_PAYMENT = "failed_payment", "failed payment"
    CANCELLED = "cancelled", "cancelled"
    COMPLETED = "completed", "completed"


class Subscription(Observed):
    """A recurring payment plan, known from its transactions' ``transaction_subscription_id``.

    Besides its lead and product, it keeps the facts its linked transactions tell, recomputed
    from all of them whenever a batch writes one (``leads.services.commerce``), so the order
    in which webhooks, IPNs and snapshots arrive does not matter. The ``*_kartra_id`` columns
    name the transaction that set each fact (Kartra's transaction id).
    """

    kartra_id = models.BigIntegerField(unique=True)
    lead = models.ForeignKey(
        Lead,
        on_delete=models.CASCADE,
        related_name="subscriptions",
        db_index=False,  # subscription_lead_product_idx starts with it
    )
    product = models.ForeignKey(
        Product, null=True, blank=True, on_delete=models.SET_NULL, related_name="subscriptions"
    )
    price_point = models.CharField(max_length=64, blank=True)
    cancelled = models.BooleanField(default=False)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    cancellation_kartra_id = models.BigIntegerField("cancellation", null=True, blank=True)

    first_sale_kartra_id = models.BigIntegerField("first sale", null=True, blank=True)
    first_sale_at = models.DateTimeField(null=True, blank=True)
    payments_made = models.PositiveIntegerField(default=0)
    payments_left = models.IntegerField(
        null=True, blank=True, help_text="As Kartra last sent it; 9999: until cancelled."
    )
    last_payment_kartra_id = models.BigIntegerField("last payment", null=True, blank=True)
    last_payment_at = models.DateTimeField(null=True, blank=True)
    failed_payments = models.PositiveIntegerField(default=0)
    last_failure_kartra_id = models.BigIntegerField("last failure", null=True, blank=True)
    last_failure_at = models.DateTimeField(null=True, blank=True)
    trial_ends_at = models.DateTimeField(null=True, blank=True)
    recurring_amount = models.DecimalField(max_digits=14, decimal_places=2, null=True, blank=True)
    billing_days = models.PositiveIntegerField(
        "billing period (days)", null=True, blank=True, help_text="See leads.revenue.billing_days."
    )
    monthly_amount = models.DecimalField(
        "monthly amount",
        max_digits=14,
        decimal_places=2,
        null=True,
        blank=True,
        help_text="The recurring amount over a month: its part of MRR while active.",
    )

    class Meta:
        ordering = ("-kartra_id",)
        indexes = [
            models.Index(fields=["lead", "product"], name="subscription_lead_product_idx"),
        ]

    def __str__(self) -> str:
        return f"subscription {self.kartra_id}{' (cancelled)' if self.cancelled else ''}"


class SignupKind(models.TextChoices):
    AFFILIATE = "affiliate", "affiliate"
    JV = "jv", "JV"


class ProductSignup(Observed):
    """A lead signed up as an affiliate or a JV partner of a product (webhooks
    ``affiliate_signup``/``jv_signup``, 001). ``signed_up_at`` is the earliest delivery that
    told it; Kartra sends no time of its own and no event that ends a signup."""

    lead = models.ForeignKey(
        Lead,
        on_delete=models.CASCADE,
        related_name="product_signups",
        db_index=False,  # signup_lead_product_kind_unique starts with it
    )
    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="signups")
    kind = models.CharField(max_length=16, choices=SignupKind.choices)
    signed_up_at = models.DateTimeField()

    class Meta:
        ordering = ("-signed_up_at", "-id")
        constraints = [
            models.UniqueConstraint(
                fields=["lead", "product", "kind"], name="signup_lead_product_kind_unique"
            )
        ]
        indexes = [
            models.Index(
                fields=["kind", "product", "signed_up_at"], name="signup_kind_product_idx"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} of {self.product}"


def money() -> models.DecimalField:
    return models.DecimalField(max_digits=14, decimal_places=2, null=True, blank=True)


class Transaction(Observed):
    """One Kartra transaction; its Kartra id is the key, so a purchase seen twice is one row."""

    kartra_id = models.BigIntegerField("transaction id", unique=True)
    lead = models.ForeignKey(
        Lead,
        on_delete=models.CASCADE,
        related_name="transactions",
        db_index=False,  # txn_lead_date_idx starts with it
    )
    product = models.ForeignKey(
        Product,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="transactions",
        db_index=False,  # txn_product_type_idx starts with it
    )
    price_point = models.CharField(max_length=64, blank=True)
    transaction_type = models.CharField(max_length=64)
    transaction_date = models.DateTimeField(null=True, blank=True)

    amount = money()  # get_lead's transaction_amount, a webhook's transaction_full_amount
    full_amount = money()
    base_amount = money()
    discount = money()
    tax = money()
    shipping = money()

    parent_kartra_id = models.BigIntegerField(null=True, blank=True)
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="children"
    )
    original_kartra_id = models.BigIntegerField(null=True, blank=True)
    subscription = models.ForeignKey(
        Subscription,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="transactions",
    )
    subscription_pay_number = models.IntegerField(null=True, blank=True)

    buyer_first_name = models.CharField(max_length=255, blank=True)
    buyer_last_name = models.CharField(max_length=255, blank=True)
    buyer_email = models.CharField(max_length=254, blank=True)
    buyer_username = models.CharField(max_length=255, blank=True)
    buyer_billing_country = models.CharField(max_length=255, blank=True)
    buyer_billing_state = models.CharField(max_length=255, blank=True)
    buyer_billing_phone_country_code = models.CharField(max_length=32, blank=True)
    buyer_billing_phone_number = models.CharField(max_length=64, blank=True)
    buyer_billing_address = models.CharField(max_length=512, blank=True)
    buyer_billing_city = models.CharField(max_length=255, blank=True)
    buyer_billing_zip = models.CharField(max_length=64, blank=True)
    shipping_first_name = models.CharField(max_length=255, blank=True)
    shipping_last_name = models.CharField(max_length=255, blank=True)
    shipping_address = models.CharField(max_length=512, blank=True)
    shipping_city = models.CharField(max_length=255, blank=True)
    shipping_zip = models.CharField(max_length=64, blank=True)
    shipping_country = models.CharField(max_length=255, blank=True)
    shipping_state = models.CharField(max_length=255, blank=True)

    affiliate = models.CharField(max_length=255, blank=True)
    jv = models.CharField("JV", max_length=255, blank=True)
    vendor_tracking_id_1 = models.CharField(max_length=255, blank=True)
    vendor_tracking_id_2 = models.CharField(max_length=255, blank=True)
    vendor_tracking_link = models.CharField(max_length=512, blank=True)
    trial_payment = models.BooleanField(null=True, blank=True)
    trial_period = models.IntegerField("trial period (days)", null=True, blank=True)
    rebill_circle = models.IntegerField("days to next payment", null=True, blank=True)
    payments_left = models.IntegerField(null=True, blank=True)
    payment_processor_type = models.CharField(max_length=64, blank=True)
    # Sent by the IPN only (kartra-facts.md, "IPN").
    quantity = models.IntegerField("units", null=True, blank=True)
    trial_amount = money()
    card_last_digits = models.CharField("card's last digits", max_length=16, blank=True)
    raw = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ("-transaction_date", "-kartra_id")
        indexes = [
            models.Index(fields=["lead", "transaction_date"], name="txn_lead_date_idx"),
            models.Index(fields=["product", "transaction_type"], name="txn_product_type_idx"),
            models.Index(fields=["transaction_date", "id"], name="txn_date_page_idx"),
            models.Index(fields=["parent_kartra_id"], name="txn_parent_kid_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.get_transaction_type_display()} {self.kartra_id}"

    def get_transaction_type_display(self):
        return label_or_value(TransactionType, self.transaction_type)
