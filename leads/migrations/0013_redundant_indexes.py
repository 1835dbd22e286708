"""No index that another index starts with: each costs every write of its table (a lead's
row is written by every webhook, without HOT, as the indexed columns it stamps change).

- A foreign key whose column leads a unique constraint or another index has no index of
  its own (a lead's tags, lists, sequences, memberships, custom values, survey results,
  subscriptions, transactions and changes by ``lead``; catalogue rows by their parent).
- The leads' and transactions' paging indexes, ``(column, id)``, built on PostgreSQL by
  0002 as SQL, are the models' own now (``AdoptIndex``): SQLite builds them too, and the
  single-column indexes they start with go.
"""

import django.db.models.deletion
from django.db import migrations, models

from kartra_mirror.pg_indexes import AdoptIndex, DropOwnIndex


class Migration(migrations.Migration):

    dependencies = [
        ('leads', '0012_subscription_status'),
    ]

    operations = [
        AdoptIndex(
            model_name='lead',
            index=models.Index(fields=['mirror_last_activity_at', 'id'], name='lead_last_activity_page_idx'),
        ),
        AdoptIndex(
            model_name='lead',
            index=models.Index(fields=['mirror_updated', 'id'], name='lead_updated_page_idx'),
        ),
        AdoptIndex(
            model_name='lead',
            index=models.Index(fields=['date_joined', 'id'], name='lead_joined_page_idx'),
        ),
        AdoptIndex(
            model_name='lead',
            index=models.Index(fields=['score', 'id'], name='lead_score_page_idx'),
        ),
        AdoptIndex(
            model_name='transaction',
            index=models.Index(fields=['transaction_date', 'id'], name='txn_date_page_idx'),
        ),
        migrations.RemoveIndex(
            model_name='lead',
            name='lead_last_activity_idx',
        ),
        migrations.RemoveIndex(
            model_name='lead',
            name='lead_updated_idx',
        ),
        migrations.RemoveIndex(
            model_name='lead',
            name='lead_joined_idx',
        ),
        migrations.RemoveIndex(
            model_name='lead',
            name='lead_score_idx',
        ),
        migrations.RemoveIndex(
            model_name='transaction',
            name='txn_date_idx',
        ),
        DropOwnIndex(
            model_name='calendarclass',
            name='calendar',
            field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='classes', to='leads.calendar'),
        ),
        DropOwnIndex(
            model_name='calendarevent',
            name='subscription',
            field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='events', to='leads.calendarsubscription'),
        ),
        DropOwnIndex(
            model_name='calendarsubscription',
            name='calendar',
            field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='subscriptions', to='leads.calendar'),
        ),
        DropOwnIndex(
            model_name='change',
            name='lead',
            field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='changes', to='leads.lead'),
        ),
        DropOwnIndex(
            model_name='customfieldoption',
            name='field',
            field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='options', to='leads.customfield'),
        ),
        DropOwnIndex(
            model_name='customfieldvalue',
            name='lead',
            field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='custom_values', to='leads.lead'),
        ),
        DropOwnIndex(
            model_name='leadtag',
            name='lead',
            field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='tag_links', to='leads.lead'),
        ),
        DropOwnIndex(
            model_name='leadtag',
            name='tag',
            field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='lead_links', to='leads.tag'),
        ),
        DropOwnIndex(
            model_name='listsubscription',
            name='lead',
            field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='list_subscriptions', to='leads.lead'),
        ),
        DropOwnIndex(
            model_name='listsubscription',
            name='list',
            field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='subscriptions', to='leads.list'),
        ),
        DropOwnIndex(
            model_name='membershipaccess',
            name='lead',
            field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='memberships', to='leads.lead'),
        ),
        DropOwnIndex(
            model_name='membershipaccess',
            name='membership',
            field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='accesses', to='leads.membership'),
        ),
        DropOwnIndex(
            model_name='membershiplevel',
            name='membership',
            field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='levels', to='leads.membership'),
        ),
        DropOwnIndex(
            model_name='pricepoint',
            name='product',
            field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='price_points', to='leads.product'),
        ),
        DropOwnIndex(
            model_name='productsignup',
            name='lead',
            field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='product_signups', to='leads.lead'),
        ),
        DropOwnIndex(
            model_name='sequencesubscription',
            name='lead',
            field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='sequence_subscriptions', to='leads.lead'),
        ),
        DropOwnIndex(
            model_name='sequencesubscription',
            name='sequence',
            field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='subscriptions', to='leads.sequence'),
        ),
        DropOwnIndex(
            model_name='subscription',
            name='lead',
            field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='subscriptions', to='leads.lead'),
        ),
        DropOwnIndex(
            model_name='surveyanswer',
            name='result',
            field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='answers', to='leads.surveyresult'),
        ),
        DropOwnIndex(
            model_name='surveyoption',
            name='question',
            field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='options', to='leads.surveyquestion'),
        ),
        DropOwnIndex(
            model_name='surveyquestion',
            name='survey',
            field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='questions', to='leads.survey'),
        ),
        DropOwnIndex(
            model_name='surveyresult',
            name='lead',
            field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='survey_results', to='leads.lead'),
        ),
        DropOwnIndex(
            model_name='transaction',
            name='lead',
            field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='transactions', to='leads.lead'),
        ),
        DropOwnIndex(
            model_name='transaction',
            name='product',
            field=models.ForeignKey(blank=True, db_index=False, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='transactions', to='leads.product'),
        ),
    ]
