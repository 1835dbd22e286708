# The transaction fields only Kartra's IPN sends (kartra-facts.md, "IPN").

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("leads", "0008_consent"),
    ]

    operations = [
        migrations.AddField(
            model_name="transaction",
            name="card_last_digits",
            field=models.CharField(blank=True, max_length=16, verbose_name="card's last digits"),
        ),
        migrations.AddField(
            model_name="transaction",
            name="quantity",
            field=models.IntegerField(blank=True, null=True, verbose_name="units"),
        ),
        migrations.AddField(
            model_name="transaction",
            name="trial_amount",
            field=models.DecimalField(blank=True, decimal_places=2, max_digits=14, null=True),
        ),
    ]
