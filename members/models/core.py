from django.conf import settings
from django.core.validators import MinValueValidator, RegexValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from linebot.models import Channel

__all__ = [
    "Direction",
    "EventKind",
    "FriendStatus",
    "Gender",
    "Member",
    "MemberEvent",
    "MemberQuerySet",
    "Message",
    "MessageQuerySet",
    "MessageSource",
    "MessageStatus",
    "Prefecture",
    "Rank",
    "Tag",
    "line_user_id_validator",
    "message_content_path",
]

line_user_id_validator = RegexValidator(
    r"^U[0-9a-f]{32}$", _("A LINE user ID is U and 32 hex digits.")
)


class FriendStatus(models.TextChoices):
    FRIEND = "friend", _("Friend")
    BLOCKED = "blocked", _("Blocked")
    UNKNOWN = "unknown", _("Unknown")


class Gender(models.TextChoices):
    FEMALE = "female", _("Female")
    MALE = "male", _("Male")
    OTHER = "other", _("Other")
    UNKNOWN = "", _("Not given")


class Rank(models.TextChoices):
    REGULAR = "regular", _("Regular")
    SILVER = "silver", _("Silver")
    GOLD = "gold", _("Gold")
    PLATINUM = "platinum", _("Platinum")


class Prefecture(models.IntegerChoices):
    """JIS X 0401 codes, the order Japanese forms list prefectures in."""

    HOKKAIDO = 1, _("Hokkaido")
    AOMORI = 2, _("Aomori")
    IWATE = 3, _("Iwate")
    MIYAGI = 4, _("Miyagi")
    AKITA = 5, _("Akita")
    YAMAGATA = 6, _("Yamagata")
    FUKUSHIMA = 7, _("Fukushima")
    IBARAKI = 8, _("Ibaraki")
    TOCHIGI = 9, _("Tochigi")
    GUNMA = 10, _("Gunma")
    SAITAMA = 11, _("Saitama")
    CHIBA = 12, _("Chiba")
    TOKYO = 13, _("Tokyo")
    KANAGAWA = 14, _("Kanagawa")
    NIIGATA = 15, _("Niigata")
    TOYAMA = 16, _("Toyama")
    ISHIKAWA = 17, _("Ishikawa")
    FUKUI = 18, _("Fukui")
    YAMANASHI = 19, _("Yamanashi")
    NAGANO = 20, _("Nagano")
    GIFU = 21, _("Gifu")
    SHIZUOKA = 22, _("Shizuoka")
    AICHI = 23, _("Aichi")
    MIE = 24, _("Mie")
    SHIGA = 25, _("Shiga")
    KYOTO = 26, _("Kyoto")
    OSAKA = 27, _("Osaka")
    HYOGO = 28, _("Hyogo")
    NARA = 29, _("Nara")
    WAKAYAMA = 30, _("Wakayama")
    TOTTORI = 31, _("Tottori")
    SHIMANE = 32, _("Shimane")
    OKAYAMA = 33, _("Okayama")
    HIROSHIMA = 34, _("Hiroshima")
    YAMAGUCHI = 35, _("Yamaguchi")
    TOKUSHIMA = 36, _("Tokushima")
    KAGAWA = 37, _("Kagawa")
    EHIME = 38, _("Ehime")
    KOCHI = 39, _("Kochi")
    FUKUOKA = 40, _("Fukuoka")
    SAGA = 41, _("Saga")
    NAGASAKI = 42, _("Nagasaki")
    KUMAMOTO = 43, _("Kumamoto")
    OITA = 44, _("Oita")
    MIYAZAKI = 45, _("Miyazaki")
    KAGOSHIMA = 46, _("Kagoshima")
    OKINAWA = 47, _("Okinawa")


class Tag(models.Model):
    channel = models.ForeignKey(
        Channel, on_delete=models.CASCADE, related_name="tags", verbose_name=_("channel")
    )
    name = models.CharField(_("name"), max_length=50)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("tag")
        verbose_name_plural = _("tags")
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["channel", "name"], name="tag_unique_per_channel")
        ]

    def __str__(self):
        return self.name


class MemberQuerySet(models.QuerySet):
    def friends(self):
        return self.filter(friend_status=FriendStatus.FRIEND)

    def blocked(self):
        return self.filter(friend_status=FriendStatus.BLOCKED)


class Member(models.Model):
    """One LINE user of one channel, and what the company knows about them."""

    channel = models.ForeignKey(
        Channel, on_delete=models.CASCADE, related_name="members", verbose_name=_("channel")
    )
    line_user_id = models.CharField(
        _("LINE user ID"), max_length=33, validators=[line_user_id_validator]
    )
    display_name = models.CharField(_("display name"), max_length=100, blank=True)
    picture_url = models.URLField(_("picture"), max_length=500, blank=True)
    status_message = models.CharField(_("status message"), max_length=500, blank=True)
    language = models.CharField(_("language"), max_length=16, blank=True)
    friend_status = models.CharField(
        _("friend status"),
        max_length=16,
        choices=FriendStatus.choices,
        default=FriendStatus.UNKNOWN,
    )
    first_followed_at = models.DateTimeField(_("first followed"), null=True, blank=True)
    followed_at = models.DateTimeField(_("followed"), null=True, blank=True)
    blocked_at = models.DateTimeField(_("blocked"), null=True, blank=True)
    profile_refreshed_at = models.DateTimeField(_("profile refreshed"), null=True, blank=True)

    external_customer_id = models.CharField(
        _("customer ID"),
        max_length=100,
        blank=True,
        help_text=_("The member's ID in the company's own systems."),
    )
    gender = models.CharField(
        _("gender"), max_length=8, choices=Gender.choices, default=Gender.UNKNOWN, blank=True
    )
    birthday = models.DateField(_("birthday"), null=True, blank=True)
    prefecture = models.PositiveSmallIntegerField(
        _("prefecture"), choices=Prefecture.choices, null=True, blank=True
    )
    rank = models.CharField(
        _("membership rank"), max_length=16, choices=Rank.choices, default=Rank.REGULAR
    )
    points = models.IntegerField(_("points"), default=0, validators=[MinValueValidator(0)])
    attributes = models.JSONField(
        _("custom attributes"),
        default=dict,
        blank=True,
        help_text=_('Free-form data by key, e.g. {"favourite_store": "Shibuya"}.'),
    )
    tags = models.ManyToManyField(Tag, blank=True, related_name="members", verbose_name=_("tags"))
    # Contact data is kept only hashed (see members.audiences.contact_hash_*), for matching
    # uploaded audiences.
    email_sha256 = models.CharField(
        _("email (SHA-256)"), max_length=64, blank=True, db_index=True, editable=False
    )
    phone_sha256 = models.CharField(
        _("phone (SHA-256)"), max_length=64, blank=True, db_index=True, editable=False
    )
    marketing_opted_out_at = models.DateTimeField(
        _("opted out of marketing"),
        null=True,
        blank=True,
        help_text=_(
            "Set when the member asks for no marketing messages; replies still reach them."
        ),
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    objects = MemberQuerySet.as_manager()

    class Meta:
        verbose_name = _("member")
        verbose_name_plural = _("members")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["channel", "line_user_id"], name="member_unique_line_user"
            ),
            models.UniqueConstraint(
                fields=["channel", "external_customer_id"],
                condition=~models.Q(external_customer_id=""),
                name="member_unique_customer_id",
            ),
            models.CheckConstraint(condition=models.Q(points__gte=0), name="member_points_gte_0"),
            models.CheckConstraint(
                condition=models.Q(friend_status__in=FriendStatus.values),
                name="member_friend_status_known",
            ),
        ]
        indexes = [
            models.Index(fields=["channel", "friend_status"], name="member_friend_status_idx"),
            models.Index(fields=["channel", "rank"], name="member_rank_idx"),
        ]

    def __str__(self):
        return self.display_name or self.line_user_id


class EventKind(models.TextChoices):
    PURCHASE = "purchase", _("Purchase")
    PAGE_VIEW = "page_view", _("Page view")
    CART_ADD = "cart_add", _("Added to cart")
    CART_CLEARED = "cart_cleared", _("Cart cleared")
    RESERVATION = "reservation", _("Reservation made")
    RESERVATION_CHANGED = "reservation_changed", _("Reservation changed")
    TRIAL_STARTED = "trial_started", _("Trial started")
    CUSTOM = "custom", _("Custom")


class MemberEvent(models.Model):
    """Something a member did outside LINE, reported by the company's systems."""

    member = models.ForeignKey(
        Member, on_delete=models.CASCADE, related_name="events", verbose_name=_("member")
    )
    kind = models.CharField(_("kind"), max_length=32, choices=EventKind.choices)
    name = models.CharField(
        _("name"),
        max_length=100,
        blank=True,
        help_text=_("What it is about: a product code, a page path, a custom event name."),
    )
    properties = models.JSONField(_("properties"), default=dict, blank=True)
    value = models.DecimalField(_("value"), max_digits=14, decimal_places=2, null=True, blank=True)
    occurred_at = models.DateTimeField(_("occurred"))
    idempotency_key = models.CharField(_("idempotency key"), max_length=100, blank=True)
    created_at = models.DateTimeField(_("recorded"), auto_now_add=True)

    class Meta:
        verbose_name = _("member event")
        verbose_name_plural = _("member events")
        ordering = ["-occurred_at", "-id"]
        indexes = [
            # "How many times did this member do X in the last N days" is the common question.
            models.Index(fields=["member", "kind", "occurred_at"], name="memberevent_recent_idx"),
            models.Index(fields=["kind", "name", "occurred_at"], name="memberevent_name_idx"),
            # Segment counts over an event window read only this index (bench/segments.py:
            # median count 561 -> 308 ms, slowest 2.8 -> 1.3 s at 1M members, 10M events).
            models.Index(
                fields=["kind", "occurred_at"],
                include=["member_id", "name", "value"],
                name="memberevent_kind_time_idx",
            ),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["member", "idempotency_key"],
                condition=~models.Q(idempotency_key=""),
                name="memberevent_unique_idempotency_key",
            ),
        ]

    def __str__(self):
        return f"{self.get_kind_display()} {self.name}".strip()


class Direction(models.TextChoices):
    INBOUND = "in", _("From member")
    OUTBOUND = "out", _("To member")


class MessageSource(models.TextChoices):
    USER = "user", _("Member")
    CAMPAIGN = "campaign", _("Campaign")
    STEP = "step", _("Step sequence")
    TRIGGER = "trigger", _("Trigger")
    AGENT = "agent", _("Support agent")
    AUTO_REPLY = "auto_reply", _("Auto-reply")
    SYSTEM = "system", _("System")


class MessageStatus(models.TextChoices):
    RECEIVED = "received", _("Received")
    PENDING = "pending", _("Sending")
    SENT = "sent", _("Sent")
    FAILED = "failed", _("Failed")


class MessageQuerySet(models.QuerySet):
    def visible(self):
        """What the conversation shows: unsent messages are hidden, as LINE asks."""
        return self.filter(unsent_at__isnull=True)


def message_content_path(message, filename):
    return f"line-content/{message.channel_id}/{message.created_at:%Y/%m}/{filename}"


class Message(models.Model):
    """One entry of a member's conversation: a message they sent us, or one we sent them.

    Outbound messages from every feature (campaigns, steps, triggers, agents, auto-replies) are
    written here through ``members.conversations``. The same message sent to many members at
    once (a multicast batch) is one entry with no member and the send's ``audience_key``; the
    sender keeps who received it (a campaign's deliveries) and answers for it through
    ``members.conversations.audience_keys_register``.
    """

    # Pushes write a row here per recipient, so the row is kept cheap to write: the indexes
    # below lead with channel and member (no separate index per foreign key), and the database
    # checks no foreign key per row (a check costs more than the row itself, see
    # bench/README.md, fanout). Django still deletes a member's messages with the member.
    channel = models.ForeignKey(
        Channel,
        on_delete=models.CASCADE,
        related_name="messages",
        verbose_name=_("channel"),
        db_index=False,
        db_constraint=False,
    )
    member = models.ForeignKey(
        Member,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="messages",
        verbose_name=_("member"),
        db_index=False,
        db_constraint=False,
        help_text=_("Empty for a message sent alike to many members (see the audience key)."),
    )
    audience_key = models.UUIDField(
        _("audience key"),
        null=True,
        blank=True,
        help_text=_("The send a message to many members belongs to (a campaign batch's key)."),
    )
    direction = models.CharField(_("direction"), max_length=3, choices=Direction.choices)
    message_type = models.CharField(_("type"), max_length=20)
    payload = models.JSONField(_("LINE payload"), default=dict)
    text = models.TextField(_("text"), blank=True)
    source = models.CharField(_("source"), max_length=16, choices=MessageSource.choices)
    source_id = models.PositiveBigIntegerField(
        _("source ID"),
        null=True,
        blank=True,
        help_text=_("The campaign, step or rule it came from."),
    )
    sent_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("sent by"),
        db_index=False,  # a partial index below: only agents' messages have a sender
    )
    status = models.CharField(_("status"), max_length=16, choices=MessageStatus.choices)
    error = models.TextField(_("error"), blank=True)
    line_message_id = models.CharField(_("LINE message ID"), max_length=32, blank=True)
    quote_token = models.CharField(_("quote token"), max_length=200, blank=True)
    webhook_event_id = models.CharField(_("webhook event ID"), max_length=64, blank=True)
    content = models.FileField(_("content"), upload_to=message_content_path, blank=True)
    content_type = models.CharField(_("content type"), max_length=100, blank=True)
    unsent_at = models.DateTimeField(_("unsent"), null=True, blank=True)
    created_at = models.DateTimeField(_("time"), db_index=True)

    objects = MessageQuerySet.as_manager()

    class Meta:
        verbose_name = _("message")
        verbose_name_plural = _("messages")
        ordering = ["created_at", "id"]
        indexes = [
            models.Index(fields=["member", "created_at"], name="message_member_time_idx"),
            models.Index(
                fields=["audience_key"],
                condition=models.Q(audience_key__isnull=False),
                name="message_audience_idx",
            ),
            # Only messages LINE gave an id (what members sent us, what we pushed one by one).
            models.Index(
                fields=["channel", "line_message_id"],
                condition=~models.Q(line_message_id=""),
                name="message_line_id_idx",
            ),
            models.Index(
                fields=["sent_by"],
                condition=models.Q(sent_by__isnull=False),
                name="message_sent_by_idx",
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(direction__in=Direction.values), name="message_direction_known"
            ),
            models.CheckConstraint(
                condition=models.Q(member__isnull=False) | models.Q(audience_key__isnull=False),
                name="message_member_or_audience",
            ),
            # An inbound message is stored once per webhook event, however often LINE sends it.
            models.UniqueConstraint(
                fields=["webhook_event_id"],
                condition=~models.Q(webhook_event_id=""),
                name="message_unique_webhook_event",
            ),
        ]

    def __str__(self):
        return self.text[:50] or self.message_type
