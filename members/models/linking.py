"""ID linking: which LINE friend is which site user (customer), and how that came to be."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from linebot.models import Channel

from .core import Member

__all__ = [
    "AccountLinkNonce",
    "LinkAction",
    "LinkEvent",
    "LinkMethod",
    "LinkRateSnapshot",
    "MemberLink",
]


class LinkMethod(models.TextChoices):
    LINE_LOGIN = "line_login", _("LINE Login")
    ACCOUNT_LINK = "account_link", _("Account link (Messaging API)")
    SIGNED_URL = "signed_url", _("Signed link URL")
    STAFF = "staff", _("By staff")


class MemberLinkQuerySet(models.QuerySet):
    def active(self):
        return self.filter(unlinked_at__isnull=True)


class MemberLink(models.Model):
    """The current (or last) link between a member and a site user.

    At most one active link per member, and per user and channel: a customer has one LINE
    account per channel. Past links stay, with their unlink time, as ``LinkEvent`` history.
    """

    member = models.OneToOneField(
        Member, on_delete=models.CASCADE, related_name="link", verbose_name=_("member")
    )
    channel = models.ForeignKey(Channel, on_delete=models.CASCADE, verbose_name=_("channel"))
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="member_links",
        verbose_name=_("site user"),
    )
    method = models.CharField(_("link method"), max_length=16, choices=LinkMethod.choices)
    linked_at = models.DateTimeField(_("linked"))
    consent_at = models.DateTimeField(_("consent given"), null=True, blank=True)
    unlinked_at = models.DateTimeField(_("unlinked"), null=True, blank=True)

    objects = MemberLinkQuerySet.as_manager()

    class Meta:
        verbose_name = _("ID link")
        verbose_name_plural = _("ID links")
        constraints = [
            models.UniqueConstraint(
                fields=["user", "channel"],
                condition=models.Q(unlinked_at__isnull=True),
                name="memberlink_one_active_per_user_and_channel",
            ),
            models.CheckConstraint(
                condition=models.Q(method__in=LinkMethod.values), name="memberlink_method_known"
            ),
        ]

    def __str__(self):
        return f"{self.member} ↔ {self.user}"

    @property
    def is_active(self) -> bool:
        return self.unlinked_at is None


class LinkAction(models.TextChoices):
    LINKED = "linked", _("Linked")
    UNLINKED = "unlinked", _("Unlinked")
    REFUSED = "refused", _("Refused")


class LinkEvent(models.Model):
    """The history of a member's links: every link, unlink and refused attempt, with time."""

    channel = models.ForeignKey(Channel, on_delete=models.CASCADE, verbose_name=_("channel"))
    member = models.ForeignKey(
        Member,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="link_events",
        verbose_name=_("member"),
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("site user"),
    )
    action = models.CharField(_("action"), max_length=16, choices=LinkAction.choices)
    method = models.CharField(_("method"), max_length=16, choices=LinkMethod.choices, blank=True)
    by_staff = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("by staff"),
    )
    reason = models.CharField(_("reason"), max_length=200, blank=True)
    created_at = models.DateTimeField(_("time"), auto_now_add=True, db_index=True)

    class Meta:
        verbose_name = _("link event")
        verbose_name_plural = _("link events")
        ordering = ["-created_at", "-id"]

    def __str__(self):
        return f"{self.get_action_display()} {self.created_at:%Y-%m-%d %H:%M}"


class AccountLinkNonce(models.Model):
    """A single-use nonce for the Messaging API account-link dialog, bound to one site user."""

    nonce = models.CharField(_("nonce"), max_length=255, unique=True)
    channel = models.ForeignKey(Channel, on_delete=models.CASCADE, verbose_name=_("channel"))
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, verbose_name=_("site user")
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    expires_at = models.DateTimeField(_("expires"))
    used_at = models.DateTimeField(_("used"), null=True, blank=True)

    class Meta:
        verbose_name = _("account-link nonce")
        verbose_name_plural = _("account-link nonces")
        indexes = [models.Index(fields=["expires_at"], name="accountlinknonce_expiry_idx")]

    def __str__(self):
        return f"nonce of {self.user}"


class LinkRateSnapshot(models.Model):
    """One day's ID-link rate of a channel: linked friends / effective friends."""

    channel = models.ForeignKey(Channel, on_delete=models.CASCADE, verbose_name=_("channel"))
    date = models.DateField(_("date"))
    friends = models.PositiveIntegerField(_("effective friends"))
    linked = models.PositiveIntegerField(_("linked friends"))

    class Meta:
        verbose_name = _("ID-link rate")
        verbose_name_plural = _("ID-link rates")
        ordering = ["-date"]
        constraints = [
            models.UniqueConstraint(fields=["channel", "date"], name="linkrate_one_per_day")
        ]

    def __str__(self):
        return f"{self.date}: {self.rate:.1%}"

    @property
    def rate(self) -> float:
        return self.linked / self.friends if self.friends else 0.0
