"""Audit runs: how far the mirror is from Kartra, lead by lead (``kartra_audit``)."""

import django.core.serializers.json
import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('events', '0004_sync_run_process'),
        ('leads', '0001_initial'),
    ]

    operations = [
        migrations.CreateModel(
            name='AuditRun',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('kind', models.CharField(max_length=32)),
                ('arguments', models.JSONField(blank=True, default=dict)),
                ('started_at', models.DateTimeField(db_index=True)),
                ('finished_at', models.DateTimeField(blank=True, null=True)),
                ('heartbeat_at', models.DateTimeField(blank=True, null=True, verbose_name='alive at')),
                ('status', models.CharField(choices=[('running', 'running'), ('succeeded', 'succeeded'), ('partial', 'finished with failures'), ('failed', 'failed'), ('aborted', 'aborted: its process crashed or was stopped')], default='running', max_length=16)),
                ('leads_compared', models.PositiveIntegerField(default=0)),
                ('leads_differing', models.PositiveIntegerField(default=0)),
                ('leads_not_found', models.PositiveIntegerField(default=0, verbose_name='leads not found in Kartra')),
                ('leads_failed', models.PositiveIntegerField(default=0)),
                ('differences_found', models.PositiveIntegerField(default=0)),
                ('causes', models.JSONField(blank=True, default=dict, verbose_name='differences by cause')),
                ('api_calls', models.PositiveIntegerField(default=0)),
                ('throttled', models.PositiveIntegerField(default=0, verbose_name='429s')),
                ('retries', models.PositiveIntegerField(default=0)),
                ('repair', models.BooleanField(default=False, verbose_name='asked to repair')),
                ('leads_repaired', models.PositiveIntegerField(default=0)),
                ('errors', models.JSONField(blank=True, default=list)),
                ('repair_run', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='audits', to='events.syncrun')),
            ],
            options={
                'ordering': ('-started_at', '-id'),
            },
        ),
        migrations.CreateModel(
            name='AuditDifference',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('lead_kartra_id', models.BigIntegerField(blank=True, null=True, verbose_name="lead's Kartra id")),
                ('relation', models.CharField(max_length=32)),
                ('name', models.CharField(blank=True, max_length=512)),
                ('mirror_value', models.JSONField(blank=True, encoder=django.core.serializers.json.DjangoJSONEncoder, null=True)),
                ('kartra_value', models.JSONField(blank=True, encoder=django.core.serializers.json.DjangoJSONEncoder, null=True)),
                ('cause', models.CharField(choices=[('lead_unknown', 'lead unknown to the mirror'), ('lead_deleted', 'lead deleted in Kartra'), ('missed_webhook', 'missed webhook'), ('no_webhook', 'no webhook for this change'), ('kept', 'kept by the mirror: a refresh never removes it')], max_length=32, verbose_name='likely cause')),
                ('lead', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='audit_differences', to='leads.lead')),
                ('run', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='differences', to='events.auditrun')),
            ],
            options={
                'ordering': ('run', 'lead_kartra_id', 'id'),
                'indexes': [models.Index(fields=['run', 'lead_kartra_id'], name='auditdiff_run_lead_idx')],
            },
        ),
    ]
