"""Which rich menu each member gets: per-segment rules, and the menu each member has."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from linebot.models import Channel, RichMenu

from .core import Member
from .segments import Segment

__all__ = [
    "MemberRichMenu",
    "RichMenuRelink",
    "RichMenuRelinkStatus",
    "RichMenuRule",
    "RichMenuTap",
]


class RichMenuRule(models.Model):
    """ "Members in segment S get menu M", tried in priority order (lowest number first).

    A rule without a segment is the channel default: LINE shows it to every friend no other
    rule matches (and to friends we do not know yet). At most one per channel.
    """

    channel = models.ForeignKey(
        Channel, on_delete=models.CASCADE, related_name="rich_menu_rules", verbose_name=_("channel")
    )
    priority = models.PositiveIntegerField(
        _("priority"), default=100, help_text=_("Lower numbers are tried first.")
    )
    segment = models.ForeignKey(
        Segment,
        on_delete=models.RESTRICT,
        null=True,
        blank=True,
        related_name="rich_menu_rules",
        verbose_name=_("segment"),
        help_text=_("Empty: the channel default, for everyone no rule matches."),
    )
    rich_menu = models.ForeignKey(
        RichMenu, on_delete=models.RESTRICT, related_name="rules", verbose_name=_("rich menu")
    )
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("rich menu rule")
        verbose_name_plural = _("rich menu rules")
        ordering = ["channel", "priority", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["channel"],
                condition=models.Q(segment__isnull=True),
                name="richmenurule_one_default_per_channel",
            ),
        ]

    def __str__(self):
        if self.segment_id is None:
            return _("Default: %(menu)s") % {"menu": self.rich_menu}
        return _("%(segment)s → %(menu)s") % {"segment": self.segment, "menu": self.rich_menu}

    @property
    def is_default(self) -> bool:
        return self.segment_id is None

    def clean(self):
        from django.core.exceptions import ValidationError

        errors = {}
        if self.channel_id and self.rich_menu_id and self.rich_menu.channel_id != self.channel_id:
            errors["rich_menu"] = _("The menu belongs to another channel.")
        if self.channel_id and self.segment_id and self.segment.channel_id != self.channel_id:
            errors["segment"] = _("The segment belongs to another channel.")
        if errors:
            raise ValidationError(errors)


class MemberRichMenu(models.Model):
    """The menu a member has on LINE now: linked to them, or the default (``rich_menu`` empty
    with ``via_default``), as last applied by us or switched to by a tab tap."""

    member = models.OneToOneField(
        Member, on_delete=models.CASCADE, related_name="rich_menu_state", verbose_name=_("member")
    )
    rich_menu = models.ForeignKey(
        RichMenu,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="member_states",
        verbose_name=_("rich menu"),
    )
    rule = models.ForeignKey(
        RichMenuRule,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("rule"),
    )
    linked = models.BooleanField(
        _("linked to the member"),
        default=False,
        help_text=_("Linked per member; otherwise they see the default."),
    )
    switched_by_tap = models.BooleanField(_("switched by a tab tap"), default=False)
    applied_at = models.DateTimeField(_("applied"), null=True, blank=True)
    error = models.TextField(_("error"), blank=True)

    class Meta:
        verbose_name = _("member's rich menu")
        verbose_name_plural = _("members' rich menus")

    def __str__(self):
        return f"{self.member}: {self.rich_menu or '-'}"


class RichMenuTap(models.Model):
    """One postback from a rich menu area (LINE tells nothing about URI taps)."""

    member = models.ForeignKey(
        Member, on_delete=models.CASCADE, related_name="rich_menu_taps", verbose_name=_("member")
    )
    rich_menu = models.ForeignKey(
        RichMenu,
        on_delete=models.SET_NULL,
        null=True,
        related_name="taps",
        verbose_name=_("rich menu"),
    )
    area = models.PositiveSmallIntegerField(_("area"), help_text=_("1 is the menu's first area."))
    data = models.CharField(_("postback data"), max_length=300)
    params = models.JSONField(_("parameters"), default=dict, blank=True)
    webhook_event_id = models.CharField(_("webhook event ID"), max_length=64, blank=True)
    tapped_at = models.DateTimeField(_("tapped"), db_index=True)

    class Meta:
        verbose_name = _("rich menu tap")
        verbose_name_plural = _("rich menu taps")
        ordering = ["-tapped_at", "-id"]
        indexes = [
            models.Index(fields=["rich_menu", "area"], name="richmenutap_menu_area_idx"),
            models.Index(fields=["member", "tapped_at"], name="richmenutap_member_idx"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["webhook_event_id"],
                condition=~models.Q(webhook_event_id=""),
                name="richmenutap_unique_webhook_event",
            ),
        ]

    def __str__(self):
        return f"{self.rich_menu} #{self.area}"


class RichMenuRelinkStatus(models.TextChoices):
    PENDING = "pending", _("Waiting")
    RUNNING = "running", _("Running")
    DONE = "done", _("Done")
    FAILED = "failed", _("Failed")


class RichMenuRelink(models.Model):
    """A full re-evaluation of a channel's members against its rules, with its progress."""

    channel = models.ForeignKey(
        Channel,
        on_delete=models.CASCADE,
        related_name="rich_menu_relinks",
        verbose_name=_("channel"),
    )
    status = models.CharField(
        _("status"),
        max_length=16,
        choices=RichMenuRelinkStatus.choices,
        default=RichMenuRelinkStatus.PENDING,
    )
    total = models.PositiveIntegerField(_("members to change"), default=0)
    done = models.PositiveIntegerField(_("members changed"), default=0)
    requests = models.PositiveIntegerField(_("LINE requests"), default=0)
    unchanged = models.PositiveIntegerField(_("members already right"), default=0)
    error = models.TextField(_("error"), blank=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("requested by"),
    )
    created_at = models.DateTimeField(_("requested"), auto_now_add=True)
    started_at = models.DateTimeField(_("started"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)

    class Meta:
        verbose_name = _("rich menu re-evaluation")
        verbose_name_plural = _("rich menu re-evaluations")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(status__in=RichMenuRelinkStatus.values),
                name="richmenurelink_status_known",
            ),
        ]

    def __str__(self):
        return f"{self.channel} {self.created_at:%Y-%m-%d %H:%M}"

    @property
    def percent(self) -> int:
        if self.status == RichMenuRelinkStatus.DONE:
            return 100
        return int(self.done * 100 / self.total) if self.total else 0
