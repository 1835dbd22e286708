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


class Subscription(Observed):
    """A recurring payment plan, known from its transactions' ``transaction_subscription_id``."""

    kartra_id = models.BigIntegerField(unique=True)
    lead = models.ForeignKey(Lead, on_delete=models.CASCADE, related_name="subscriptions")
    product = models.ForeignKey(
        Product, null=True, blank=True, on_delete=models.SET_NULL, related_name="subscriptions"
    )
    cancelled = models.BooleanField(default=False)
    cancelled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ("-kartra_id",)

    def __str__(self) -> str:
        return f"subscription {self.kartra_id}{' (cancelled)' if self.cancelled else ''}"


def money() -> models.DecimalField:
    return models.DecimalField(max_digits=14, decimal_places=2, null=True, blank=True)


class Transaction(Observed):
    """One Kartra transaction; its Kartra id is the key, so a purchase seen twice is one row."""

    kartra_id = models.BigIntegerField("transaction id", unique=True)
    lead = models.ForeignKey(Lead, on_delete=models.CASCADE, related_name="transactions")
    product = models.ForeignKey(
        Product, null=True, blank=True, on_delete=models.SET_NULL, related_name="transactions"
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
            models.Index(fields=["transaction_date"], name="txn_date_idx"),
            models.Index(fields=["parent_kartra_id"], name="txn_parent_kid_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.get_transaction_type_display()} {self.kartra_id}"

    def get_transaction_type_display(self):
        return label_or_value(TransactionType, self.transaction_type)
