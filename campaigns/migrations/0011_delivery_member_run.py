"""Deliveries: the unique (run, member) index becomes (member, run), which also finds a member's
deliveries, so the index of the member alone goes: one index fewer to write per recipient
(writing a run's deliveries: 0.50 -> 0.42 s per 100,000)."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("campaigns", "0010_sending_queue"),
        ("members", "0010_event_totals"),
    ]

    operations = [
        # The new unique index first, so the rule holds at every step.
        migrations.AddConstraint(
            model_name="delivery",
            constraint=models.UniqueConstraint(
                fields=("member", "run"), name="delivery_unique_member_run"
            ),
        ),
        migrations.RemoveConstraint(
            model_name="delivery",
            name="delivery_unique_run_member",
        ),
        migrations.AlterField(
            model_name="delivery",
            name="member",
            field=models.ForeignKey(
                db_constraint=False,
                db_index=False,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="campaign_deliveries",
                to="members.member",
                verbose_name="member",
            ),
        ),
    ]
