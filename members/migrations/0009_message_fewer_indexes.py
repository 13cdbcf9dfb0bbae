"""The conversation log is written once per recipient of a campaign: no index per foreign key
(the other indexes lead with channel and member), no foreign key checked per row, and the
LINE message id indexed only where LINE gave one."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('linebot', '0005_webhook_event_queue_indexes'),
        ('members', '0008_link_tracking'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AlterField(
            model_name='message',
            name='channel',
            field=models.ForeignKey(db_constraint=False, db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='messages', to='linebot.channel', verbose_name='channel'),
        ),
        migrations.AlterField(
            model_name='message',
            name='member',
            field=models.ForeignKey(db_constraint=False, db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='messages', to='members.member', verbose_name='member'),
        ),
        migrations.AlterField(
            model_name='message',
            name='sent_by',
            field=models.ForeignKey(blank=True, db_index=False, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL, verbose_name='sent by'),
        ),
        migrations.AddIndex(
            model_name='message',
            index=models.Index(condition=models.Q(('sent_by__isnull', False)), fields=['sent_by'], name='message_sent_by_idx'),
        ),
        migrations.RemoveIndex(
            model_name='message',
            name='message_line_id_idx',
        ),
        migrations.AddIndex(
            model_name='message',
            index=models.Index(condition=models.Q(('line_message_id', ''), _negated=True), fields=['channel', 'line_message_id'], name='message_line_id_idx'),
        ),
    ]
