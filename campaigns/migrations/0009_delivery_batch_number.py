"""Deliveries name their batch by number within the run (written by the database in one
statement when recipients are resolved), and carry no retry key of their own: a push's key is
derived from its batch's stored key and the member. Fewer indexes, and no foreign key checked by
the database per row: the table is written once per recipient."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('campaigns', '0008_narrowcast'),
        ('members', '0009_message_fewer_indexes'),
    ]

    operations = [
        migrations.AddField(
            model_name='delivery',
            name='batch_number',
            field=models.PositiveIntegerField(blank=True, help_text="The run's send batch it goes out in.", null=True, verbose_name='batch'),
        ),
        migrations.RunSQL(
            # Each delivery keeps its batch, now named by the run's batch number.
            "UPDATE campaigns_delivery SET batch_number = (SELECT number FROM campaigns_sendbatch"
            " WHERE campaigns_sendbatch.id = campaigns_delivery.batch_id)"
            " WHERE batch_id IS NOT NULL",
            reverse_sql=migrations.RunSQL.noop,
        ),
        migrations.RemoveConstraint(
            model_name='delivery',
            name='delivery_unique_retry_key',
        ),
        migrations.RemoveIndex(
            model_name='delivery',
            name='delivery_status_idx',
        ),
        migrations.RemoveIndex(
            model_name='delivery',
            name='delivery_batch_status_idx',
        ),
        migrations.RemoveIndex(
            model_name='delivery',
            name='delivery_run_reason_idx',
        ),
        migrations.RemoveField(
            model_name='delivery',
            name='batch',
        ),
        migrations.RemoveField(
            model_name='delivery',
            name='retry_key',
        ),
        migrations.AlterField(
            model_name='delivery',
            name='campaign',
            field=models.ForeignKey(db_constraint=False, on_delete=django.db.models.deletion.CASCADE, related_name='deliveries', to='campaigns.campaign', verbose_name='campaign'),
        ),
        migrations.AlterField(
            model_name='delivery',
            name='member',
            field=models.ForeignKey(db_constraint=False, on_delete=django.db.models.deletion.CASCADE, related_name='campaign_deliveries', to='members.member', verbose_name='member'),
        ),
        migrations.AlterField(
            model_name='delivery',
            name='run',
            field=models.ForeignKey(db_constraint=False, db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='deliveries', to='campaigns.campaignrun', verbose_name='run'),
        ),
        migrations.AlterField(
            model_name='delivery',
            name='variant',
            field=models.ForeignKey(blank=True, db_index=False, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='deliveries', to='campaigns.campaignvariant', verbose_name='A/B variant'),
        ),
        migrations.AddIndex(
            model_name='delivery',
            index=models.Index(fields=['run', 'batch_number'], name='delivery_batch_idx'),
        ),
        migrations.AddIndex(
            model_name='delivery',
            index=models.Index(condition=models.Q(('variant__isnull', False)), fields=['variant'], name='delivery_variant_idx'),
        ),
        migrations.AddConstraint(
            model_name='delivery',
            constraint=models.CheckConstraint(condition=models.Q(models.Q(('status', 'pending'), _negated=True), ('batch_number__isnull', False), _connector='OR'), name='delivery_pending_has_batch'),
        ),
    ]
