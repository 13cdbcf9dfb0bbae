import re
import uuid

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models.signals import post_delete
from django.dispatch import receiver
from django.utils.translation import gettext_lazy as _

from linebot.models import Channel
from linebot.validation import Problem, problem_text, validate_messages

from .personalize import personalize, sample_context, variable_problems


def problems_error(problems: list[Problem]) -> ValidationError:
    """One validation error per problem: its JSON path, then the sentence in the active language."""
    return ValidationError([f"{item.path}: {problem_text(item)}" for item in problems])


def validate_line_messages(value) -> None:
    """Model-field validator: LINE message objects, each problem named by its JSON path."""
    if not isinstance(value, list):
        raise ValidationError(_("Messages must be a JSON list of LINE message objects."))
    problems = validate_messages(value)
    if problems:
        raise problems_error(problems)


def template_problems(messages) -> list[Problem]:
    """What is wrong with a template's messages: unknown variables, then LINE's rules.

    LINE's rules are checked on the messages as a sample member would get them, so a URL
    written as `{{ data.product_url }}` counts as a URL; each real send checks again.
    """
    if not isinstance(messages, list):
        return validate_messages(messages)
    return variable_problems(messages) or validate_messages(
        personalize(messages, context=sample_context())
    )


def crontab_fields(value: str) -> dict[str, str]:
    """A five-field crontab as CrontabSchedule's fields; ValueError naming the bad field."""
    from celery.schedules import crontab

    parts = value.split()
    if len(parts) != 5:
        raise ValueError(
            _("Give five fields (minute hour day-of-month month day-of-week); got %(count)d.")
            % {"count": len(parts)}
        )
    names = ("minute", "hour", "day_of_month", "month_of_year", "day_of_week")
    fields = dict(zip(names, parts, strict=True))
    labels = {
        "minute": _("minute"),
        "hour": _("hour"),
        "day_of_month": _("day of month"),
        "month_of_year": _("month"),
        "day_of_week": _("day of week"),
    }
    for name, part in fields.items():
        try:
            crontab(**{name: part})
        except (ValueError, TypeError) as error:
            raise ValueError(
                _("The %(field)s field “%(value)s” is not valid: %(error)s")
                % {"field": labels[name], "value": part, "error": error}
            ) from None
    return fields


def validate_crontab(value: str) -> None:
    try:
        crontab_fields(value)
    except ValueError as error:
        raise ValidationError(str(error)) from None


class AutoReplyTrigger(models.TextChoices):
    WELCOME = "welcome", _("Welcome (new friend or unblock)")
    KEYWORD = "keyword", _("Keyword")


class MatchType(models.TextChoices):
    EXACT = "exact", _("Exact match")
    CONTAINS = "contains", _("Contains")
    REGEX = "regex", _("Regular expression")


class AutoReplyQuerySet(models.QuerySet):
    def active(self):
        return self.filter(is_active=True)


class AutoReply(models.Model):
    """A message sent automatically: on follow (welcome) or when a member's text matches."""

    channel = models.ForeignKey(
        Channel, on_delete=models.CASCADE, related_name="auto_replies", verbose_name=_("channel")
    )
    name = models.CharField(_("name"), max_length=100)
    trigger = models.CharField(_("trigger"), max_length=16, choices=AutoReplyTrigger.choices)
    match_type = models.CharField(
        _("match"), max_length=16, choices=MatchType.choices, default=MatchType.EXACT
    )
    keywords = models.TextField(
        _("keywords"),
        blank=True,
        help_text=_("One keyword (or, for regular expressions, one pattern) per line."),
    )
    priority = models.PositiveIntegerField(
        _("priority"), default=100, help_text=_("Lower numbers are tried first.")
    )
    active_from = models.TimeField(
        _("active from"), null=True, blank=True, help_text=_("Japan time. Empty: all day.")
    )
    active_until = models.TimeField(_("active until"), null=True, blank=True)
    messages = models.JSONField(
        _("messages"),
        validators=[validate_line_messages],
        help_text=_("One to five LINE message objects, as JSON."),
    )
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    objects = AutoReplyQuerySet.as_manager()

    class Meta:
        verbose_name = _("auto-reply")
        verbose_name_plural = _("auto-replies")
        ordering = ["channel", "trigger", "priority", "id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(trigger__in=AutoReplyTrigger.values),
                name="autoreply_trigger_known",
            ),
            models.CheckConstraint(
                condition=models.Q(active_from__isnull=True, active_until__isnull=True)
                | models.Q(active_from__isnull=False, active_until__isnull=False),
                name="autoreply_active_hours_both_or_neither",
            ),
        ]

    def __str__(self):
        return self.name

    def keyword_list(self) -> list[str]:
        return [line.strip() for line in self.keywords.splitlines() if line.strip()]

    def clean(self):
        if self.trigger == AutoReplyTrigger.KEYWORD and not self.keyword_list():
            raise ValidationError({"keywords": _("A keyword rule needs at least one keyword.")})
        if (self.active_from is None) != (self.active_until is None):
            raise ValidationError(
                {"active_until": _("Give both ends of the active hours, or neither.")}
            )
        if self.match_type == MatchType.REGEX:
            for line_number, pattern in enumerate(self.keyword_list(), start=1):
                try:
                    re.compile(pattern)
                except re.error as error:
                    raise ValidationError(
                        {
                            "keywords": _("Line %(line)d is not a valid pattern: %(error)s")
                            % {"line": line_number, "error": error}
                        }
                    ) from None


class MessageTemplate(models.Model):
    """One to five LINE message objects, reusable by campaigns, steps, triggers and tests."""

    name = models.CharField(_("name"), max_length=100)
    channel = models.ForeignKey(
        Channel,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="message_templates",
        verbose_name=_("channel"),
        help_text=_("Empty: usable on every channel."),
    )
    description = models.TextField(_("description"), blank=True)
    messages = models.JSONField(
        _("messages"),
        help_text=_(
            "One to five LINE message objects, as JSON. Variables such as "
            "{{ member.display_name }} may be used inside text values."
        ),
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("created by"),
    )

    class Meta:
        verbose_name = _("message template")
        verbose_name_plural = _("message templates")
        ordering = ["name", "id"]
        indexes = [models.Index(fields=["channel", "name"])]

    def __str__(self):
        return self.name

    def save(self, *args, **kwargs):
        # The model owns its invariant: nothing invalid is stored, whoever saves it.
        problems = template_problems(self.messages)
        if problems:
            raise ValidationError({"messages": problems_error(problems).error_list})
        super().save(*args, **kwargs)

    def clean(self):
        problems = template_problems(self.messages)
        if problems:
            raise ValidationError({"messages": problems_error(problems).error_list})

    @property
    def message_types(self) -> list[str]:
        messages = self.messages if isinstance(self.messages, list) else []
        return [str(message.get("type", "?")) for message in messages if isinstance(message, dict)]


class CampaignStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    SCHEDULED = "scheduled", _("Scheduled")
    SENDING = "sending", _("Sending")
    PAUSED = "paused", _("Paused")
    DONE = "done", _("Done")
    CANCELLED = "cancelled", _("Cancelled")


class Campaign(models.Model):
    """One send of a message template to a target of members; the row follows its progress."""

    channel = models.ForeignKey(
        Channel, on_delete=models.CASCADE, related_name="campaigns", verbose_name=_("channel")
    )
    name = models.CharField(_("name"), max_length=100)
    template = models.ForeignKey(
        MessageTemplate,
        on_delete=models.PROTECT,
        related_name="campaigns",
        verbose_name=_("message template"),
    )
    all_friends = models.BooleanField(
        _("all friends"), default=False, help_text=_("Send to every friend; segments are ignored.")
    )
    segments = models.ManyToManyField(
        "members.Segment", blank=True, related_name="campaigns", verbose_name=_("segments")
    )
    excluded_segments = models.ManyToManyField(
        "members.Segment",
        blank=True,
        related_name="excluded_from_campaigns",
        verbose_name=_("excluded segments"),
        help_text=_("Members of these segments get nothing."),
    )
    status = models.CharField(
        _("status"), max_length=16, choices=CampaignStatus.choices, default=CampaignStatus.DRAFT
    )
    scheduled_at = models.DateTimeField(
        _("scheduled for"), null=True, blank=True, help_text=_("Empty: send when confirmed.")
    )
    crontab = models.CharField(
        _("repeat (crontab)"),
        max_length=100,
        blank=True,
        validators=[validate_crontab],
        help_text=_(
            "Japan time, five fields: minute hour day-of-month month day-of-week, "
            "e.g. “0 10 * * 1” for every Monday at 10:00. Each run sends again to the "
            "members it then targets. Empty: send once."
        ),
    )
    apply_frequency_cap = models.BooleanField(
        _("apply the frequency cap"),
        default=True,
        help_text=_("Skip members who already got the channel's maximum of marketing messages."),
    )
    respect_quiet_hours = models.BooleanField(
        _("respect quiet hours"),
        default=True,
        help_text=_("A send that falls in the channel's quiet hours waits until they end."),
    )
    holdout_percent = models.PositiveSmallIntegerField(
        _("holdout (%)"),
        default=0,
        validators=[MaxValueValidator(90)],
        help_text=_(
            "A/B tests: this share of the recipients gets nothing, to compare against. "
            "Who falls where is fixed by the campaign and the member."
        ),
    )
    use_narrowcast = models.BooleanField(
        _("send by narrowcast"),
        default=False,
        help_text=_(
            "For very large sends of the same messages: the recipients are uploaded to LINE as "
            "an audience and LINE sends at its own pace. Not with variables, variants or "
            "tracked clicks."
        ),
    )
    track_clicks = models.BooleanField(
        _("track clicks"),
        default=False,
        help_text=_(
            "Links go through our redirect, one per member, so clicks are counted per member "
            "and per variant. Each member then gets their own push."
        ),
    )
    schedule_task = models.OneToOneField(
        "django_celery_beat.PeriodicTask",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        editable=False,
        related_name="+",
        verbose_name=_("beat task"),
    )
    deferred_task = models.OneToOneField(
        "django_celery_beat.PeriodicTask",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        editable=False,
        related_name="+",
        verbose_name=_("beat task after quiet hours"),
    )
    current_run = models.ForeignKey(
        "CampaignRun",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        editable=False,
        related_name="+",
        verbose_name=_("current run"),
    )
    total_count = models.PositiveIntegerField(_("recipients"), default=0)
    sent_count = models.PositiveIntegerField(_("sent"), default=0)
    failed_count = models.PositiveIntegerField(_("failed"), default=0)
    skipped_count = models.PositiveIntegerField(_("skipped"), default=0)
    started_at = models.DateTimeField(_("started"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("created by"),
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("campaign")
        verbose_name_plural = _("campaigns")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["status", "scheduled_at"], name="campaign_status_time_idx")]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(status__in=CampaignStatus.values),
                name="campaign_status_known",
            ),
            models.CheckConstraint(
                condition=~models.Q(status="scheduled")
                | models.Q(scheduled_at__isnull=False)
                | ~models.Q(crontab=""),
                name="campaign_scheduled_has_time",
            ),
        ]

    def __str__(self):
        return self.name

    def clean(self):
        if self.template_id and self.channel_id:
            template_channel = self.template.channel_id
            if template_channel is not None and template_channel != self.channel_id:
                raise ValidationError({"template": _("This template belongs to another channel.")})
        if self.use_narrowcast and self.track_clicks:
            raise ValidationError(
                {
                    "use_narrowcast": _(
                        "Narrowcast sends the same messages to all: no tracked clicks."
                    )
                }
            )
        if self.holdout_percent is not None and self.holdout_percent > 90:
            raise ValidationError({"holdout_percent": _("Hold out at most 90%.")})
        if self.crontab and self.scheduled_at:
            raise ValidationError(
                {"crontab": _("Give a time to send once, or a crontab to repeat, not both.")}
            )

    @property
    def remaining_count(self) -> int:
        return max(self.total_count - self.sent_count - self.failed_count - self.skipped_count, 0)

    @property
    def is_recurring(self) -> bool:
        return bool(self.crontab)


class CampaignVariant(models.Model):
    """One arm of an A/B test: its own template, for a share of the non-holdout recipients."""

    campaign = models.ForeignKey(
        Campaign, on_delete=models.CASCADE, related_name="variants", verbose_name=_("campaign")
    )
    name = models.CharField(_("name"), max_length=20, help_text=_("For example A, B."))
    template = models.ForeignKey(
        MessageTemplate,
        on_delete=models.PROTECT,
        related_name="campaign_variants",
        verbose_name=_("message template"),
    )
    weight = models.PositiveSmallIntegerField(
        _("share"),
        default=50,
        validators=[MinValueValidator(1)],
        help_text=_("Relative to the other variants: 50 and 50 split evenly."),
    )

    class Meta:
        verbose_name = _("A/B variant")
        verbose_name_plural = _("A/B variants")
        ordering = ["campaign", "name", "id"]
        constraints = [
            models.UniqueConstraint(fields=["campaign", "name"], name="variant_unique_name"),
            models.CheckConstraint(
                condition=models.Q(weight__gte=1), name="variant_weight_positive"
            ),
        ]

    def __str__(self):
        return self.name


class CampaignRun(models.Model):
    """One send of a campaign: a one-off campaign has one, a recurring one a run per firing.

    Deliveries are keyed by run and member, so each run messages a member at most once. The
    counts of the run being sent are also kept on the campaign, for its progress bar.
    """

    campaign = models.ForeignKey(
        Campaign, on_delete=models.CASCADE, related_name="runs", verbose_name=_("campaign")
    )
    number = models.PositiveIntegerField(_("number"))
    trigger = models.CharField(
        _("trigger"),
        max_length=64,
        blank=True,
        help_text=_("What started it (the beat task's message), so a redelivery starts nothing."),
    )
    send_limit = models.PositiveIntegerField(
        _("send limit"),
        null=True,
        blank=True,
        help_text=_("Send to at most this many members (the rest of the quota); empty: all."),
    )
    total_count = models.PositiveIntegerField(_("recipients"), default=0)
    sent_count = models.PositiveIntegerField(_("sent"), default=0)
    failed_count = models.PositiveIntegerField(_("failed"), default=0)
    skipped_count = models.PositiveIntegerField(_("skipped"), default=0)
    started_at = models.DateTimeField(_("started"), auto_now_add=True)
    prepared_at = models.DateTimeField(_("recipients resolved"), null=True, blank=True)
    # Recipients are resolved in member id order a chunk at a time (campaigns.delivery): how
    # far that has got, and how many of them are to be sent to so far.
    resolved_through = models.BigIntegerField(
        _("resolved up to member"), null=True, blank=True, editable=False
    )
    resolved_count = models.PositiveIntegerField(
        _("recipients to send to so far"), default=0, editable=False
    )
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)

    class Meta:
        verbose_name = _("campaign run")
        verbose_name_plural = _("campaign runs")
        ordering = ["campaign", "-number"]
        constraints = [
            models.UniqueConstraint(
                fields=["campaign", "number"], name="campaignrun_unique_number"
            ),
            models.UniqueConstraint(
                fields=["campaign", "trigger"],
                condition=~models.Q(trigger=""),
                name="campaignrun_unique_trigger",
            ),
        ]

    def __str__(self):
        return f"{self.campaign} #{self.number}"


class SendBatchStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    DONE = "done", _("Done")


class SendBatch(models.Model):
    """A unit of sending work: one multicast request (up to 500 members) or a run of pushes.

    Its retry key is stored before any call: the multicast carries it, and each push of the
    batch carries a key derived from it and the member (``campaigns.delivery.push_retry_key``),
    so a repeat never sends twice.
    """

    campaign = models.ForeignKey(
        Campaign, on_delete=models.CASCADE, related_name="batches", verbose_name=_("campaign")
    )
    run = models.ForeignKey(
        CampaignRun, on_delete=models.CASCADE, related_name="batches", verbose_name=_("run")
    )
    variant = models.ForeignKey(
        CampaignVariant,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="batches",
        verbose_name=_("A/B variant"),
    )
    number = models.PositiveIntegerField(_("number"))
    retry_key = models.UUIDField(_("retry key"), default=uuid.uuid4, editable=False)
    status = models.CharField(
        _("status"),
        max_length=16,
        choices=SendBatchStatus.choices,
        default=SendBatchStatus.PENDING,
    )
    request_id = models.CharField(_("LINE request ID"), max_length=64, blank=True)
    audience_group_id = models.BigIntegerField(_("LINE audience"), null=True, blank=True)
    error = models.TextField(_("error"), blank=True)
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    sent_at = models.DateTimeField(_("sent"), null=True, blank=True)

    class Meta:
        verbose_name = _("send batch")
        verbose_name_plural = _("send batches")
        ordering = ["campaign", "number"]
        constraints = [
            models.UniqueConstraint(fields=["run", "number"], name="sendbatch_unique_run_number"),
            models.UniqueConstraint(fields=["retry_key"], name="sendbatch_unique_retry_key"),
            models.CheckConstraint(
                condition=models.Q(status__in=SendBatchStatus.values),
                name="sendbatch_status_known",
            ),
        ]
        indexes = [
            # The queue senders take from, in order: only pending batches are in it, so it
            # stays small however many batches a send has done.
            models.Index(
                fields=["campaign", "run", "number"],
                condition=models.Q(status=SendBatchStatus.PENDING),
                name="sendbatch_pending_idx",
            )
        ]

    def __str__(self):
        return f"{self.campaign_id}#{self.number}"

    @property
    def deliveries(self) -> models.QuerySet:
        """The members of this batch: the run's deliveries that carry its number."""
        return Delivery.objects.filter(run_id=self.run_id, batch_number=self.number)


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    SENT = "sent", _("Sent")
    FAILED = "failed", _("Failed")
    SKIPPED = "skipped", _("Skipped")


class SkipReason(models.TextChoices):
    BLOCKED = "blocked", _("Blocked the account")
    NOT_FRIEND = "not_friend", _("Not a friend")
    OPTED_OUT = "opted_out", _("Opted out of marketing")
    INVALID = "invalid", _("Messages invalid for this member")
    CANCELLED = "cancelled", _("Campaign cancelled")
    FREQUENCY_CAP = "frequency_cap", _("Over the frequency cap")
    QUOTA = "quota", _("Beyond the monthly quota")
    HOLDOUT = "holdout", _("A/B holdout")


class Delivery(models.Model):
    """One member's copy of a campaign run, written when the run's recipients are resolved.

    A recipient's row is pending, with its batch's number, until the batch goes out; a target
    who gets nothing has a skipped row with the reason. Rows are written in bulk by the
    database itself and updated a batch at a time, so the table is kept cheap to write: few
    indexes, none on the status, and no foreign key checked by the database per row (each
    check costs more than the row; the ids come from rows read in the same statement, and
    Django still deletes a campaign's or a member's deliveries with it).
    """

    campaign = models.ForeignKey(
        Campaign,
        # Deleted with their run (each run is its campaign's); no index of its own to keep.
        on_delete=models.DO_NOTHING,
        related_name="deliveries",
        verbose_name=_("campaign"),
        db_constraint=False,
        db_index=False,
    )
    run = models.ForeignKey(
        CampaignRun,
        on_delete=models.CASCADE,
        related_name="deliveries",
        verbose_name=_("run"),
        db_index=False,  # (run, batch_number) leads with it
        db_constraint=False,
    )
    variant = models.ForeignKey(
        CampaignVariant,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="deliveries",
        verbose_name=_("A/B variant"),
        db_index=False,  # a partial index below: only A/B tests have variants
    )
    member = models.ForeignKey(
        "members.Member",
        on_delete=models.CASCADE,
        related_name="campaign_deliveries",
        verbose_name=_("member"),
        db_constraint=False,
        db_index=False,  # (member, run) leads with it
    )
    batch_number = models.PositiveIntegerField(
        _("batch"), null=True, blank=True, help_text=_("The run's send batch it goes out in.")
    )
    status = models.CharField(
        _("status"), max_length=16, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING
    )
    reason = models.CharField(_("reason"), max_length=16, choices=SkipReason.choices, blank=True)
    request_id = models.CharField(
        _("LINE request ID"),
        max_length=64,
        blank=True,
        help_text=_("A push's own; a multicast's is its batch's."),
    )
    error = models.TextField(_("error"), blank=True)
    sent_at = models.DateTimeField(_("sent"), null=True, blank=True)

    class Meta:
        verbose_name = _("delivery")
        verbose_name_plural = _("deliveries")
        ordering = ["campaign", "id"]
        constraints = [
            # Member first: the same index finds a member's deliveries (their history, and
            # Django deleting them with the member), so no index of the member alone is kept.
            models.UniqueConstraint(fields=["member", "run"], name="delivery_unique_member_run"),
            models.CheckConstraint(
                condition=models.Q(status__in=DeliveryStatus.values),
                name="delivery_status_known",
            ),
            models.CheckConstraint(
                condition=~models.Q(status="skipped") | ~models.Q(reason=""),
                name="delivery_skipped_has_reason",
            ),
            models.CheckConstraint(
                condition=~models.Q(status="pending") | models.Q(batch_number__isnull=False),
                name="delivery_pending_has_batch",
            ),
        ]
        indexes = [
            models.Index(fields=["run", "batch_number"], name="delivery_batch_idx"),
            models.Index(
                fields=["variant"],
                condition=models.Q(variant__isnull=False),
                name="delivery_variant_idx",
            ),
        ]

    def __str__(self):
        return f"{self.campaign_id} → {self.member_id}"


class SendingPolicy(models.Model):
    """A channel's limits on marketing sends: a frequency cap and quiet hours (Japan time).

    Campaigns and steps both count toward the cap and both wait out the quiet hours.
    """

    channel = models.OneToOneField(
        Channel,
        on_delete=models.CASCADE,
        related_name="sending_policy",
        verbose_name=_("channel"),
    )
    frequency_cap_count = models.PositiveIntegerField(
        _("at most this many marketing messages"),
        null=True,
        blank=True,
        help_text=_("Per member, counted across campaigns and step sequences. Empty: no cap."),
    )
    frequency_cap_days = models.PositiveIntegerField(
        _("in this many days"),
        default=7,
        help_text=_("The window the cap counts over, ending now."),
    )
    quiet_hours_start = models.TimeField(
        _("quiet hours from"),
        null=True,
        blank=True,
        help_text=_("Japan time. Sends wait until the quiet hours end. Empty: no quiet hours."),
    )
    quiet_hours_end = models.TimeField(
        _("quiet hours until"),
        null=True,
        blank=True,
        help_text=_("Japan time; may be earlier than the start (the quiet hours span midnight)."),
    )
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("sending policy")
        verbose_name_plural = _("sending policies")
        ordering = ["channel"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(quiet_hours_start__isnull=True, quiet_hours_end__isnull=True)
                | models.Q(quiet_hours_start__isnull=False, quiet_hours_end__isnull=False),
                name="sendingpolicy_quiet_hours_both_or_neither",
            ),
            models.CheckConstraint(
                condition=models.Q(frequency_cap_days__gte=1),
                name="sendingpolicy_cap_days_positive",
            ),
        ]

    def __str__(self):
        return str(self.channel)

    def clean(self):
        if (self.quiet_hours_start is None) != (self.quiet_hours_end is None):
            raise ValidationError(
                {"quiet_hours_end": _("Give both ends of the quiet hours, or neither.")}
            )
        if self.quiet_hours_start is not None and self.quiet_hours_start == self.quiet_hours_end:
            raise ValidationError(
                {"quiet_hours_end": _("The quiet hours must end at another time than they start.")}
            )
        if self.frequency_cap_days is not None and self.frequency_cap_days < 1:
            raise ValidationError({"frequency_cap_days": _("Count over at least one day.")})


@receiver(post_delete, sender=Campaign)
def _campaign_deleted(sender, instance: Campaign, **kwargs) -> None:
    """A deleted campaign takes its beat tasks along: nothing fires for it afterwards."""
    from django_celery_beat.models import PeriodicTask

    task_ids = [pk for pk in (instance.schedule_task_id, instance.deferred_task_id) if pk]
    if task_ids:
        PeriodicTask.objects.filter(pk__in=task_ids).delete()
