"""Running totals of each member's events, per kind, so segments need not add up the events.

One ``MemberEventTotal`` row per (member, kind) holds the all-time count and value sum of that
member's events of that kind, and the same over a recent stretch. A PostgreSQL trigger on the
event table keeps it (migration 0010): every insert, update or delete of a ``MemberEvent``,
whatever wrote it (``members.events.event_record``, the admin, ``bulk_create``, a cascade),
changes the row in the same transaction, so a total is never behind its events. The embedded
SQLite database has no trigger: there the table stays empty and segments add up the events.

Segments use it two ways (``members.segments``):

- "ever" conditions on a count or sum are answered from ``count`` and ``value_sum`` exactly;
- windowed ones ("60,000 or more in 90 days") add up the events of the members who *can* meet
  the threshold only. Values can be negative (refunds), so the bounds are of the positive values:
  a window's sum is at most ``recent_positive_sum`` (or ``positive_sum``), its count at most
  ``recent_count`` (or ``count``), and a member whose ``last_at`` is before the window has none.
"""

import datetime as dt

from django.db import models
from django.utils.translation import gettext_lazy as _

from .core import EventKind, Member

__all__ = ["MemberEventTotal"]


class MemberEventTotal(models.Model):
    """A member's events of one kind, added up (kept by a database trigger, never by hand)."""

    # The recent totals cover at least this many days before the present: windows up to this
    # long (read at the present, give or take a day of clock difference between the app and
    # the database) are bounded by them. The trigger restarts the recent totals at
    # now - (RECENT_DAYS + RECENT_MARGIN_DAYS) when they began more than RECENT_REFRESH_DAYS
    # before that, so they span RECENT_DAYS + 2 to RECENT_DAYS + 9 days (+ the member's idle
    # time): a bound a little wider than the window, and a recount at most once a week per
    # member and kind. The numbers are in the trigger's SQL too (migration 0010).
    RECENT_DAYS = 90
    RECENT_MARGIN_DAYS = 2
    RECENT_REFRESH_DAYS = 7
    CLOCK_SLACK = dt.timedelta(days=1)

    member = models.ForeignKey(
        Member,
        on_delete=models.CASCADE,
        related_name="event_totals",
        verbose_name=_("member"),
        db_index=False,  # the unique (member, kind) index leads with it
    )
    kind = models.CharField(_("kind"), max_length=32, choices=EventKind.choices)
    count = models.PositiveIntegerField(_("events"), default=0)
    value_sum = models.DecimalField(_("total value"), max_digits=24, decimal_places=2, default=0)
    positive_sum = models.DecimalField(
        _("total of positive values"), max_digits=24, decimal_places=2, default=0
    )
    last_at = models.DateTimeField(_("last occurred"), null=True, blank=True)
    # NULL only inside the statement that writes events, while a recount is due (the trigger's
    # statement-level half recounts and sets it before the statement ends).
    recent_since = models.DateTimeField(_("recent totals since"), null=True)
    recent_count = models.PositiveIntegerField(_("recent events"), default=0)
    recent_positive_sum = models.DecimalField(
        _("recent total of positive values"), max_digits=24, decimal_places=2, default=0
    )

    class Meta:
        verbose_name = _("member event total")
        verbose_name_plural = _("member event totals")
        constraints = [
            models.UniqueConstraint(fields=["member", "kind"], name="membereventtotal_unique"),
        ]
        # Segment conditions read a range of one column per kind; the member id (and the last
        # time, to skip members with nothing in the window) come from the index alone.
        indexes = [
            models.Index(
                fields=["kind", "count"],
                include=["member_id", "last_at"],
                name="membereventtotal_count_idx",
            ),
            models.Index(
                fields=["kind", "positive_sum"],
                include=["member_id", "value_sum", "last_at"],
                name="membereventtotal_sum_idx",
            ),
            models.Index(
                fields=["kind", "recent_count"],
                include=["member_id", "last_at"],
                name="membereventtotal_rcount_idx",
            ),
            models.Index(
                fields=["kind", "recent_positive_sum"],
                include=["member_id", "last_at"],
                name="membereventtotal_rsum_idx",
            ),
            # The rows awaiting their recount (normally none): found without a scan.
            models.Index(
                fields=["id"],
                condition=models.Q(recent_since__isnull=True),
                name="membereventtotal_recount_idx",
            ),
        ]

    def __str__(self):
        return f"{self.member_id} {self.kind}: {self.count}"
