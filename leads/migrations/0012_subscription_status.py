"""Subscriptions keep the facts their transactions tell (their status is derived from them:
``leads.revenue``), and affiliate and JV sign-ups become lead state (``ProductSignup``).

Existing subscriptions get their facts computed from their stored transactions, and the
sign-ups recorded so far as activity (``events.Activity``, ``affiliate_signup`` and
``jv_signup`` with a product) become ``ProductSignup`` rows dated by their first delivery.
"""

import django.db.models.deletion
from django.db import migrations, models

BATCH = 500


def backfill_subscriptions(apps, schema_editor):
    # The facts are the writer's own pure function (``leads.revenue.subscription_facts``)
    # over plain values, so existing rows get exactly what a new batch would write.
    from leads.revenue import FACT_FIELDS, FACT_SOURCES, subscription_facts

    Subscription = apps.get_model("leads", "Subscription")
    Transaction = apps.get_model("leads", "Transaction")
    pks = list(Subscription.objects.order_by("pk").values_list("pk", flat=True))
    for start in range(0, len(pks), BATCH):
        chunk = pks[start : start + BATCH]
        linked = {pk: [] for pk in chunk}
        for row in Transaction.objects.filter(subscription_id__in=chunk).values(*FACT_SOURCES):
            linked[row["subscription_id"]].append(row)
        rows = list(Subscription.objects.filter(pk__in=chunk))
        for subscription in rows:
            for name, value in subscription_facts(linked[subscription.pk]).items():
                setattr(subscription, name, value)
        Subscription.objects.bulk_update(rows, FACT_FIELDS)


def backfill_signups(apps, schema_editor):
    Activity = apps.get_model("events", "Activity")
    ProductSignup = apps.get_model("leads", "ProductSignup")
    kinds = {"affiliate_signup": "affiliate", "jv_signup": "jv"}
    first = (
        Activity.objects.filter(action__in=kinds, product__isnull=False)
        .values("lead_id", "product_id", "action")
        .annotate(at=models.Min("occurred_at"), ref=models.Min("delivery_id"))
        .order_by()
    )
    ProductSignup.objects.bulk_create(
        [
            ProductSignup(
                lead_id=row["lead_id"],
                product_id=row["product_id"],
                kind=kinds[row["action"]],
                signed_up_at=row["at"],
                observed_at=row["at"],
                observed_source="webhook",
                observed_ref=row["ref"],
            )
            for row in first.iterator()
        ],
        batch_size=BATCH,
        ignore_conflicts=True,
    )


class Migration(migrations.Migration):
    dependencies = [
        ("leads", "0011_change_history"),
        ("events", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="subscription",
            name="price_point",
            field=models.CharField(blank=True, max_length=64),
        ),
        migrations.AddField(
            model_name="subscription",
            name="cancellation_kartra_id",
            field=models.BigIntegerField(blank=True, null=True, verbose_name="cancellation"),
        ),
        migrations.AddField(
            model_name="subscription",
            name="first_sale_kartra_id",
            field=models.BigIntegerField(blank=True, null=True, verbose_name="first sale"),
        ),
        migrations.AddField(
            model_name="subscription",
            name="first_sale_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="subscription",
            name="payments_made",
            field=models.PositiveIntegerField(default=0),
        ),
        migrations.AddField(
            model_name="subscription",
            name="payments_left",
            field=models.IntegerField(
                blank=True, help_text="As Kartra last sent it; 9999: until cancelled.", null=True
            ),
        ),
        migrations.AddField(
            model_name="subscription",
            name="last_payment_kartra_id",
            field=models.BigIntegerField(blank=True, null=True, verbose_name="last payment"),
        ),
        migrations.AddField(
            model_name="subscription",
            name="last_payment_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="subscription",
            name="failed_payments",
            field=models.PositiveIntegerField(default=0),
        ),
        migrations.AddField(
            model_name="subscription",
            name="last_failure_kartra_id",
            field=models.BigIntegerField(blank=True, null=True, verbose_name="last failure"),
        ),
        migrations.AddField(
            model_name="subscription",
            name="last_failure_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="subscription",
            name="trial_ends_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="subscription",
            name="recurring_amount",
            field=models.DecimalField(blank=True, decimal_places=2, max_digits=14, null=True),
        ),
        migrations.AddField(
            model_name="subscription",
            name="billing_days",
            field=models.PositiveIntegerField(
                blank=True,
                help_text="See leads.revenue.billing_days.",
                null=True,
                verbose_name="billing period (days)",
            ),
        ),
        migrations.AddField(
            model_name="subscription",
            name="monthly_amount",
            field=models.DecimalField(
                blank=True,
                decimal_places=2,
                help_text="The recurring amount over a month: its part of MRR while active.",
                max_digits=14,
                null=True,
                verbose_name="monthly amount",
            ),
        ),
        migrations.AddIndex(
            model_name="subscription",
            index=models.Index(fields=["lead", "product"], name="subscription_lead_product_idx"),
        ),
        migrations.CreateModel(
            name="ProductSignup",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("observed_at", models.DateTimeField()),
                (
                    "observed_source",
                    models.CharField(
                        choices=[
                            ("webhook", "webhook delivery"),
                            ("snapshot", "get_lead snapshot"),
                            ("catalog", "account catalogue call"),
                            ("import", "lead import"),
                        ],
                        max_length=16,
                    ),
                ),
                ("observed_ref", models.BigIntegerField(blank=True, null=True)),
                (
                    "kind",
                    models.CharField(
                        choices=[("affiliate", "affiliate"), ("jv", "JV")], max_length=16
                    ),
                ),
                ("signed_up_at", models.DateTimeField()),
                (
                    "lead",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="product_signups",
                        to="leads.lead",
                    ),
                ),
                (
                    "product",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="signups",
                        to="leads.product",
                    ),
                ),
            ],
            options={
                "ordering": ("-signed_up_at", "-id"),
                "indexes": [
                    models.Index(
                        fields=["kind", "product", "signed_up_at"], name="signup_kind_product_idx"
                    )
                ],
                "constraints": [
                    models.UniqueConstraint(
                        fields=("lead", "product", "kind"), name="signup_lead_product_kind_unique"
                    )
                ],
            },
        ),
        migrations.RunPython(backfill_subscriptions, migrations.RunPython.noop, elidable=True),
        migrations.RunPython(backfill_signups, migrations.RunPython.noop, elidable=True),
    ]
