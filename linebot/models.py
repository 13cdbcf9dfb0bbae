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
    webhook_event_id = models.CharField(_("webhook event ID"), max_length=64)
    event_type = models.CharField(_("type"), max_length=40)
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
        ordering = ["-id"]  # the order received, read from the primary key
        # Few indexes: every one is written 2,000 times a second at LINE's pace. The pending
        # index holds only the queue, which workers read oldest first (bench/README.md).
        indexes = [
            models.Index(
                fields=["id"],
                condition=models.Q(status=WebhookEventStatus.PENDING),
                name="webhookevent_pending_idx",
            ),
            models.Index(
                fields=["id"],
                condition=models.Q(status=WebhookEventStatus.FAILED),
                name="webhookevent_failed_idx",
            ),
        ]
        constraints = [
            # A constraint, not ``unique=True``: no second (LIKE) index on PostgreSQL.
            models.UniqueConstraint(
                fields=["webhook_event_id"], name="webhookevent_unique_event_id"
            ),
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


def rich_menu_image_path(rich_menu, filename):
    return f"rich-menus/{rich_menu.channel_id}/{uuid.uuid4().hex}-{filename}"


class RichMenuSyncStatus(models.TextChoices):
    DRAFT = "draft", _("Not on LINE yet")
    SYNCED = "synced", _("On LINE")
    OUT_OF_SYNC = "out_of_sync", _("Changed since the last sync")
    FAILED = "failed", _("Sync failed")


class RichMenu(models.Model):
    """A rich menu as staff design it: image, size, chat bar text and tappable areas.

    ``areas`` is LINE's list of ``{"bounds": {...}, "action": {...}}``, validated by
    ``linebot.richmenus.rich_menu_problems``. LINE cannot change a menu or its image once
    created, so a sync after a change creates a new LINE menu and deletes the old one;
    ``synced_fingerprint`` says what the stored LINE menu was made from.
    """

    channel = models.ForeignKey(
        Channel, on_delete=models.CASCADE, related_name="rich_menus", verbose_name=_("channel")
    )
    name = models.CharField(
        _("name"), max_length=300, help_text=_("For staff; LINE users never see it.")
    )
    chat_bar_text = models.CharField(
        _("chat bar text"),
        max_length=14,
        default="Menu",
        help_text=_("Shown on the bar that opens the menu; at most 14 characters."),
    )
    selected = models.BooleanField(
        _("open by default"),
        default=False,
        help_text=_("Show the menu open when the chat opens, not only its bar."),
    )
    width = models.PositiveIntegerField(_("width"), default=2500)
    height = models.PositiveIntegerField(_("height"), default=1686)
    image = models.FileField(_("image"), upload_to=rich_menu_image_path, blank=True)
    image_content_type = models.CharField(_("image type"), max_length=20, blank=True)
    areas = models.JSONField(_("areas"), default=list, blank=True)
    line_rich_menu_id = models.CharField(_("LINE rich menu ID"), max_length=100, blank=True)
    synced_fingerprint = models.CharField(max_length=64, blank=True, editable=False)
    # LINE menus this one replaced, deleted once LINE has moved their users to the new one.
    retired_line_ids = models.JSONField(default=list, blank=True, editable=False)
    synced_at = models.DateTimeField(_("last synced"), null=True, blank=True)
    sync_error = models.TextField(_("sync error"), blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("rich menu")
        verbose_name_plural = _("rich menus")
        ordering = ["channel", "name", "id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(width__gte=800, width__lte=2500, height__gte=250),
                name="richmenu_size_in_line_limits",
            ),
        ]

    def __str__(self):
        return self.name

    def clean(self):
        from django.core.exceptions import ValidationError

        from .richmenus import rich_menu_problems

        problems = rich_menu_problems(self)
        if problems:
            raise ValidationError(
                {"areas": [f"{p.path}: {p.as_dict()['message']}" for p in problems]}
            )


class RichMenuAlias(models.Model):
    """A name for a rich menu, which ``richmenuswitch`` actions (tab menus) switch to."""

    channel = models.ForeignKey(
        Channel,
        on_delete=models.CASCADE,
        related_name="rich_menu_aliases",
        verbose_name=_("channel"),
    )
    alias_id = models.CharField(
        _("alias ID"),
        max_length=32,
        validators=[
            RegexValidator(
                r"^[a-z0-9_-]{1,32}$",
                _("An alias ID is 1 to 32 characters of a-z, 0-9, _ and -."),
            )
        ],
    )
    rich_menu = models.ForeignKey(
        RichMenu, on_delete=models.RESTRICT, related_name="aliases", verbose_name=_("rich menu")
    )
    line_rich_menu_id = models.CharField(
        _("LINE rich menu ID it names"), max_length=100, blank=True, editable=False
    )
    synced_at = models.DateTimeField(_("last synced"), null=True, blank=True)
    sync_error = models.TextField(_("sync error"), blank=True)

    class Meta:
        verbose_name = _("rich menu alias")
        verbose_name_plural = _("rich menu aliases")
        ordering = ["channel", "alias_id"]
        constraints = [
            models.UniqueConstraint(
                fields=["channel", "alias_id"], name="richmenualias_unique_per_channel"
            )
        ]

    def __str__(self):
        return self.alias_id

    def clean(self):
        from django.core.exceptions import ValidationError

        if self.rich_menu_id and self.channel_id and self.rich_menu.channel_id != self.channel_id:
            raise ValidationError({"rich_menu": _("The menu belongs to another channel.")})
