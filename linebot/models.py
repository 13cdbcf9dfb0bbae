import uuid

from django.conf import settings
from django.core.validators import RegexValidator
from django.db import models
from django.urls import reverse
from django.utils.translation import gettext_lazy as _


class Platform(models.TextChoices):
    LINE = "line", _("LINE")
    SANDBOX = "sandbox", _("Sandbox (local LINE emulator)")


class ChannelQuerySet(models.QuerySet):
    def active(self):
        return self.filter(is_active=True)


class Channel(models.Model):
    """One LINE Official Account: its Messaging API credentials and the platform it talks to.

    Every member and every message belongs to one channel. The secret and the access token are
    never shown back in the admin nor written to logs.
    """

    name = models.CharField(_("name"), max_length=100)
    channel_id = models.CharField(
        _("Messaging API channel ID"),
        max_length=20,
        unique=True,
        validators=[RegexValidator(r"^\d{6,20}$", _("A channel ID is 6 to 20 digits."))],
    )
    channel_secret = models.CharField(
        _("channel secret"),
        max_length=64,
        validators=[RegexValidator(r"^[0-9a-f]{32}$", _("A channel secret is 32 hex digits."))],
    )
    access_token = models.TextField(_("channel access token"))
    bot_basic_id = models.CharField(
        _("bot basic ID"),
        max_length=32,
        blank=True,
        validators=[RegexValidator(r"^@[0-9a-z._-]+$", _("A basic ID looks like @123abcde."))],
        help_text=_("The @ID friends search for, shown in the LINE Official Account Manager."),
    )
    bot_user_id = models.CharField(
        _("bot user ID"),
        max_length=33,
        blank=True,
        validators=[RegexValidator(r"^U[0-9a-f]{32}$", _("A user ID is U and 32 hex digits."))],
        help_text=_("The 'destination' of this channel's webhooks."),
    )
    platform = models.CharField(
        _("platform"),
        max_length=16,
        choices=Platform.choices,
        default=Platform.SANDBOX,
        help_text=_("Real LINE, or the local sandbox that emulates it."),
    )
    login_app = models.OneToOneField(
        "socialaccount.SocialApp",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="line_channel",
        verbose_name=_("LINE Login channel"),
        help_text=_(
            "The allauth social application holding the LINE Login channel's ID and secret. "
            "It must be under the same LINE provider as this Messaging API channel, or LINE "
            "gives the same person different user IDs and logins cannot be linked to friends."
        ),
    )
    webhook_key = models.UUIDField(
        _("webhook key"), default=uuid.uuid4, unique=True, editable=False
    )
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    objects = ChannelQuerySet.as_manager()

    class Meta:
        verbose_name = _("channel")
        verbose_name_plural = _("channels")
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(platform__in=Platform.values), name="channel_platform_known"
            ),
        ]

    def __str__(self):
        return self.name

    @property
    def webhook_url(self) -> str:
        """The URL to paste into the LINE Developers console as this channel's webhook."""
        return settings.SITE_URL + reverse("linebot:webhook", args=[self.webhook_key])

    @property
    def base_urls(self) -> dict[str, str]:
        """Base URLs of the platform this channel talks to: ``api``, ``api_data``, ``access``."""
        return settings.LINE_PLATFORMS[self.platform]


class WebhookEventStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    DONE = "done", _("Handled")
    IGNORED = "ignored", _("Ignored (no handler)")
    FAILED = "failed", _("Failed")


class WebhookEventQuerySet(models.QuerySet):
    def failed(self):
        return self.filter(status=WebhookEventStatus.FAILED)


class WebhookEvent(models.Model):
    """One event LINE posted to a channel's webhook, stored raw before it is handled.

    Unique by LINE's ``webhookEventId``, so a redelivered or repeated event is stored once and
    handled once. Handling happens in a worker; a failure keeps the error here for a retry.
    """

    channel = models.ForeignKey(
        Channel, on_delete=models.CASCADE, related_name="webhook_events", verbose_name=_("channel")
    )
    webhook_event_id = models.CharField(_("webhook event ID"), max_length=64, unique=True)
    event_type = models.CharField(_("type"), max_length=40, db_index=True)
    mode = models.CharField(_("mode"), max_length=16, default="active")
    is_redelivery = models.BooleanField(_("redelivery"), default=False)
    occurred_at = models.DateTimeField(_("occurred"))
    payload = models.JSONField(_("payload"))
    status = models.CharField(
        _("status"),
        max_length=16,
        choices=WebhookEventStatus.choices,
        default=WebhookEventStatus.PENDING,
    )
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    error = models.TextField(_("error"), blank=True)
    received_at = models.DateTimeField(_("received"), auto_now_add=True)
    handled_at = models.DateTimeField(_("handled"), null=True, blank=True)

    objects = WebhookEventQuerySet.as_manager()

    class Meta:
        verbose_name = _("webhook event")
        verbose_name_plural = _("webhook events")
        ordering = ["-received_at", "-id"]
        indexes = [models.Index(fields=["status", "received_at"], name="webhookevent_status_idx")]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(status__in=WebhookEventStatus.values),
                name="webhookevent_status_known",
            ),
        ]

    def __str__(self):
        return f"{self.event_type} {self.webhook_event_id}"

    @property
    def source_user_id(self) -> str | None:
        return (self.payload.get("source") or {}).get("userId")
