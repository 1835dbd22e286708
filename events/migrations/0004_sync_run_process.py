"""Sync runs record the host and process running them and a heartbeat, and may end
``aborted``: a run whose process is gone is no longer shown running."""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('events', '0003_admin_indexes'),
    ]

    operations = [
        migrations.AddField(
            model_name='syncrun',
            name='heartbeat_at',
            field=models.DateTimeField(blank=True, null=True, verbose_name='alive at'),
        ),
        migrations.AddField(
            model_name='syncrun',
            name='host',
            field=models.CharField(blank=True, max_length=255),
        ),
        migrations.AddField(
            model_name='syncrun',
            name='pid',
            field=models.PositiveIntegerField(blank=True, null=True),
        ),
        migrations.AlterField(
            model_name='syncrun',
            name='status',
            field=models.CharField(choices=[('running', 'running'), ('succeeded', 'succeeded'), ('partial', 'finished with failures'), ('failed', 'failed'), ('aborted', 'aborted: its process crashed or was stopped')], default='running', max_length=16),
        ),
    ]
