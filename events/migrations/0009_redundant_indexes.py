"""No index that another index starts with (see leads 0013): activity rows by ``lead``
(``activity_lead_time_idx``), audit differences by ``run`` (``auditdiff_run_lead_idx``),
and deliveries by ``received_at``, which every delivery wrote twice (stored, processed):
the dashboard's ``delivery_day_action_idx``, built on PostgreSQL by 0003 as SQL, is the
model's own now (``AdoptIndex``) and serves every query by time.
"""

import django.db.models.deletion
from django.db import migrations, models

from kartra_mirror.pg_indexes import AdoptIndex, DropOwnIndex


class Migration(migrations.Migration):

    dependencies = [
        ('events', '0008_delivery_indexes'),
        ('leads', '0013_redundant_indexes'),
    ]

    operations = [
        AdoptIndex(
            model_name='delivery',
            index=models.Index(fields=['received_at'], include=('action', 'status'), name='delivery_day_action_idx'),
        ),
        DropOwnIndex(
            model_name='activity',
            name='lead',
            field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='activities', to='leads.lead'),
        ),
        DropOwnIndex(
            model_name='auditdifference',
            name='run',
            field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='differences', to='events.auditrun'),
        ),
        migrations.AlterField(
            model_name='delivery',
            name='received_at',
            field=models.DateTimeField(),
        ),
    ]
