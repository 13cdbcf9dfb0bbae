"""The senders' queue: an index of pending batches only. Deliveries leave room in each page
(PostgreSQL's fillfactor) so that marking a batch's rows sent rewrites them in place, writing
no index entry (a "HOT" update: no indexed column changes). A delivery is deleted with its run,
and keeps no index on its campaign."""

import django.db.models.deletion
from django.db import migrations, models


def delivery_fillfactor(apps, schema_editor, *, percent=50):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"ALTER TABLE campaigns_delivery SET (fillfactor = {int(percent)})")


def delivery_fillfactor_default(apps, schema_editor):
    delivery_fillfactor(apps, schema_editor, percent=100)


class Migration(migrations.Migration):

    dependencies = [
        ('campaigns', '0009_delivery_batch_number'),
    ]

    operations = [
        migrations.RemoveIndex(
            model_name='sendbatch',
            name='sendbatch_status_idx',
        ),
        migrations.AddIndex(
            model_name='sendbatch',
            index=models.Index(condition=models.Q(('status', 'pending')), fields=['campaign', 'run', 'number'], name='sendbatch_pending_idx'),
        ),
        migrations.RunPython(delivery_fillfactor, delivery_fillfactor_default),
        migrations.AlterField(
            model_name='delivery',
            name='request_id',
            field=models.CharField(blank=True, help_text="A push's own; a multicast's is its batch's.", max_length=64, verbose_name='LINE request ID'),
        ),
        migrations.AlterField(
            model_name='delivery',
            name='campaign',
            field=models.ForeignKey(db_constraint=False, db_index=False, on_delete=django.db.models.deletion.DO_NOTHING, related_name='deliveries', to='campaigns.campaign', verbose_name='campaign'),
        ),
    ]
