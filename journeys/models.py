"""Step sequences, their enrollments and sends; trigger and abandonment rules and their sends.

A sequence is a trigger, ordered steps and exit conditions. Each member in it has one
``Enrollment`` row holding the step due next and when (``next_due_at``, indexed for the
scheduler). Every step a member gets is a ``StepSend`` row, unique per (enrollment, step) and
carrying its ``X-Line-Retry-Key`` before LINE is called, so neither a crash nor an edit of a live
sequence sends a step twice.
"""

import uuid

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from campaigns.models import MessageTemplate
from linebot.models import Channel
from members.models import EventKind, Member, MemberEvent, Segment, Tag


class SequenceTrigger(models.TextChoices):
    FOLLOW = "follow", _("Follows (or unblocks) the account")
    LINKED = "linked", _("Links their ID")
    TAG_ADDED = "tag_added", _("Gets a tag")
    EVENT = "event", _("An event happens")
    SEGMENT_ENTERED = "segment_entered", _("Enters a segment")


class ReentryPolicy(models.TextChoices):
    NEVER = "never", _("Never: once per member")
    AFTER_COMPLETION = "after_completion", _("Again once the previous run has ended")
    ALWAYS = "always", _("Always: a new trigger restarts the sequence")


def validate_property_filter(value) -> None:
    """A property filter is a JSON object of property name to the value it must equal."""
    if not isinstance(value, dict):
        raise ValidationError(_('Give a JSON object such as {"product_id": "A-100"}.'))
    for key, item in value.items():
        if not key:
            raise ValidationError(_("A property filter has an empty property name."))
        if isinstance(item, dict | list):
            raise ValidationError(
                _("The filter value of %(key)s must be text, a number or true/false.")
                % {"key": key}
            )


class Sequence(models.Model):
    """A step sequence (ステップ配信): messages spaced over time after a trigger."""

    channel = models.ForeignKey(
        Channel, on_delete=models.CASCADE, related_name="sequences", verbose_name=_("channel")
    )
    name = models.CharField(_("name"), max_length=100)
    description = models.TextField(_("description"), blank=True)
    is_active = models.BooleanField(
        _("active"), default=True, help_text=_("Inactive: nobody enters and no step is sent.")
    )
    trigger = models.CharField(_("trigger"), max_length=20, choices=SequenceTrigger.choices)
    trigger_tag = models.ForeignKey(
        Tag,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("tag"),
        help_text=_("For the tag trigger."),
    )
    trigger_event_kind = models.CharField(
        _("event kind"), max_length=32, choices=EventKind.choices, blank=True
    )
    trigger_event_name = models.CharField(
        _("event name"),
        max_length=100,
        blank=True,
        help_text=_("Product code, page or custom event name. Empty: any."),
    )
    trigger_event_filter = models.JSONField(
        _("event property filter"),
        default=dict,
        blank=True,
        validators=[validate_property_filter],
        help_text=_('Properties the event must have, e.g. {"category": "shoes"}.'),
    )
    trigger_segment = models.ForeignKey(
        Segment,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("segment entered"),
        help_text=_("For the segment trigger: checked every few minutes."),
    )
    entry_segment = models.ForeignKey(
        Segment,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("entry condition"),
        help_text=_("Only members of this segment enter. Empty: everyone triggered."),
    )
    reentry = models.CharField(
        _("re-entry"), max_length=20, choices=ReentryPolicy.choices, default=ReentryPolicy.NEVER
    )
    exit_event_kind = models.CharField(
        _("exit on event"),
        max_length=32,
        choices=EventKind.choices,
        blank=True,
        help_text=_("E.g. a purchase ends the enrollment early."),
    )
    exit_event_name = models.CharField(_("exit event name"), max_length=100, blank=True)
    exit_event_filter = models.JSONField(
        _("exit event property filter"),
        default=dict,
        blank=True,
        validators=[validate_property_filter],
    )
    exit_segment = models.ForeignKey(
        Segment,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("exit when leaving segment"),
        help_text=_("Checked before each step: a member no longer in it leaves the sequence."),
    )
    exit_on_block = models.BooleanField(_("exit when blocked"), default=True)
    exit_on_opt_out = models.BooleanField(_("exit when opted out of marketing"), default=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("step sequence")
        verbose_name_plural = _("step sequences")
        ordering = ["channel", "name", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(trigger__in=SequenceTrigger.values), name="sequence_trigger_known"
            ),
            models.CheckConstraint(
                condition=Q(reentry__in=ReentryPolicy.values), name="sequence_reentry_known"
            ),
            models.CheckConstraint(
                condition=~Q(trigger="tag_added") | Q(trigger_tag__isnull=False),
                name="sequence_tag_trigger_has_tag",
            ),
            models.CheckConstraint(
                condition=~Q(trigger="event") | ~Q(trigger_event_kind=""),
                name="sequence_event_trigger_has_kind",
            ),
            models.CheckConstraint(
                condition=~Q(trigger="segment_entered") | Q(trigger_segment__isnull=False),
                name="sequence_segment_trigger_has_segment",
            ),
        ]
        indexes = [
            models.Index(fields=["channel", "trigger", "is_active"], name="sequence_trigger_idx")
        ]

    def __str__(self):
        return self.name

    def clean(self):
        errors = {}
        if self.trigger == SequenceTrigger.TAG_ADDED and not self.trigger_tag_id:
            errors["trigger_tag"] = _("Choose the tag that starts the sequence.")
        if self.trigger == SequenceTrigger.EVENT and not self.trigger_event_kind:
            errors["trigger_event_kind"] = _("Choose the event kind that starts the sequence.")
        if self.trigger == SequenceTrigger.SEGMENT_ENTERED and not self.trigger_segment_id:
            errors["trigger_segment"] = _("Choose the segment whose new members enter.")
        if self.channel_id:
            for field in ("trigger_tag", "trigger_segment", "entry_segment", "exit_segment"):
                related = getattr(self, field)
                if related is not None and related.channel_id != self.channel_id:
                    errors[field] = _("This belongs to another channel.")
        if errors:
            raise ValidationError(errors)


class DelayUnit(models.TextChoices):
    MINUTES = "minutes", _("minutes")
    HOURS = "hours", _("hours")
    DAYS = "days", _("days")
    DAYS_AT = "days_at", _("days later, at the time given")


class Otherwise(models.TextChoices):
    """What a member outside a step's condition segment gets instead of the step."""

    SKIP = "skip", _("Skip this step and go on to the next")
    END = "end", _("End the enrollment")
    GOTO = "goto", _("Go on to a later step")


class Step(models.Model):
    """One message of a sequence, sent a delay after the previous step (or the entry)."""

    sequence = models.ForeignKey(
        Sequence, on_delete=models.CASCADE, related_name="steps", verbose_name=_("sequence")
    )
    position = models.PositiveIntegerField(_("order"), default=1)
    delay_value = models.PositiveIntegerField(
        _("delay"), default=0, help_text=_("After the previous step, or the entry for the first.")
    )
    delay_unit = models.CharField(
        _("unit"), max_length=10, choices=DelayUnit.choices, default=DelayUnit.MINUTES
    )
    at_time = models.TimeField(
        _("at"),
        null=True,
        blank=True,
        help_text=_('Japan time, for "days later at": 1 day at 10:00 is the next day at 10:00.'),
    )
    window_start = models.TimeField(
        _("send window from"), null=True, blank=True, help_text=_("Japan time. Empty: any time.")
    )
    window_end = models.TimeField(_("send window until"), null=True, blank=True)
    condition_segment = models.ForeignKey(
        Segment,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("only for members of"),
        help_text=_('Members outside this segment do what "otherwise" says instead.'),
    )
    otherwise = models.CharField(
        _("otherwise"),
        max_length=10,
        choices=Otherwise.choices,
        default=Otherwise.SKIP,
        help_text=_("For members outside the condition segment."),
    )
    otherwise_position = models.PositiveIntegerField(
        _("go to step"),
        null=True,
        blank=True,
        help_text=_(
            'The order number of a later step, for "go on to a later step"; its delay counts '
            "from the skipped step."
        ),
    )
    template = models.ForeignKey(
        MessageTemplate,
        on_delete=models.PROTECT,
        related_name="steps",
        verbose_name=_("message template"),
    )

    class Meta:
        verbose_name = _("step")
        verbose_name_plural = _("steps")
        ordering = ["sequence", "position", "id"]
        constraints = [
            models.UniqueConstraint(fields=["sequence", "position"], name="step_unique_position"),
            models.CheckConstraint(
                condition=Q(delay_unit__in=DelayUnit.values), name="step_delay_unit_known"
            ),
            models.CheckConstraint(
                condition=~Q(delay_unit="days_at") | Q(at_time__isnull=False),
                name="step_days_at_has_time",
            ),
            models.CheckConstraint(
                condition=Q(window_start__isnull=True, window_end__isnull=True)
                | Q(window_start__isnull=False, window_end__isnull=False),
                name="step_window_both_or_neither",
            ),
            models.CheckConstraint(
                condition=Q(otherwise__in=Otherwise.values), name="step_otherwise_known"
            ),
            # Only forward: a branch can never loop back.
            models.CheckConstraint(
                condition=~Q(otherwise="goto")
                | Q(otherwise_position__isnull=False, otherwise_position__gt=F("position")),
                name="step_goto_is_later",
            ),
        ]

    def __str__(self):
        return f"{self.sequence} #{self.position}"

    def clean(self):
        errors = {}
        if self.delay_unit == DelayUnit.DAYS_AT and self.at_time is None:
            errors["at_time"] = _("Give the time of day to send at.")
        if (self.window_start is None) != (self.window_end is None):
            errors["window_end"] = _("Give both ends of the send window, or neither.")
        elif self.window_start is not None and self.window_start == self.window_end:
            errors["window_end"] = _("The send window must end at another time than it starts.")
        if self.otherwise == Otherwise.GOTO:
            if self.otherwise_position is None:
                errors["otherwise_position"] = _("Give the order number of the step to go to.")
            elif self.otherwise_position <= (self.position or 0):
                errors["otherwise_position"] = _(
                    "Step %(position)s can only go on to a later step (a number above "
                    "%(position)s)."
                ) % {"position": self.position}
        if self.otherwise != Otherwise.SKIP and not self.condition_segment_id:
            errors["otherwise"] = _("Choose the condition segment this applies to.")
        sequence = getattr(self, "sequence", None) if self.sequence_id else None
        if sequence is not None:
            if self.template_id and self.template.channel_id not in (None, sequence.channel_id):
                errors["template"] = _("This template belongs to another channel.")
            if self.condition_segment_id and (
                self.condition_segment.channel_id != sequence.channel_id
            ):
                errors["condition_segment"] = _("This segment belongs to another channel.")
        if errors:
            raise ValidationError(errors)


class EnrollmentStatus(models.TextChoices):
    ACTIVE = "active", _("Active")
    COMPLETED = "completed", _("Completed")
    EXITED = "exited", _("Exited")
    STOPPED = "stopped", _("Stopped by staff")


class Enrollment(models.Model):
    """One member's run through a sequence: the step due next and when."""

    member = models.ForeignKey(
        Member, on_delete=models.CASCADE, related_name="enrollments", verbose_name=_("member")
    )
    sequence = models.ForeignKey(
        Sequence, on_delete=models.CASCADE, related_name="enrollments", verbose_name=_("sequence")
    )
    status = models.CharField(
        _("status"),
        max_length=16,
        choices=EnrollmentStatus.choices,
        default=EnrollmentStatus.ACTIVE,
    )
    current_step = models.ForeignKey(
        Step,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="enrollments",
        verbose_name=_("next step"),
    )
    # The position of the step due next, so a deleted step's members go on with the one after.
    step_position = models.PositiveIntegerField(_("next step position"), default=1)
    next_due_at = models.DateTimeField(_("next step due"), null=True, blank=True)
    data = models.JSONField(
        _("data"), default=dict, blank=True, help_text=_("The trigger's data for the templates.")
    )
    trigger_event = models.ForeignKey(
        MemberEvent,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("trigger event"),
    )
    exit_reason = models.CharField(_("exit reason"), max_length=200, blank=True)
    attempts = models.PositiveIntegerField(_("failed attempts"), default=0)
    enrolled_at = models.DateTimeField(_("entered"))
    finished_at = models.DateTimeField(_("ended"), null=True, blank=True)

    class Meta:
        verbose_name = _("enrollment")
        verbose_name_plural = _("enrollments")
        ordering = ["-enrolled_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=EnrollmentStatus.values), name="enrollment_status_known"
            ),
            models.CheckConstraint(
                condition=~Q(status="active") | Q(next_due_at__isnull=False),
                name="enrollment_active_has_due_time",
            ),
            models.CheckConstraint(
                condition=Q(status="active") | Q(finished_at__isnull=False),
                name="enrollment_ended_has_end_time",
            ),
            models.UniqueConstraint(
                fields=["sequence", "member"],
                condition=Q(status="active"),
                name="enrollment_one_active_per_member",
            ),
        ]
        indexes = [
            # The scheduler's question: which active enrollments are due now?
            models.Index(
                fields=["next_due_at"],
                condition=Q(status="active"),
                name="enrollment_due_idx",
            ),
            models.Index(fields=["sequence", "status"], name="enrollment_sequence_idx"),
            models.Index(fields=["member", "sequence"], name="enrollment_member_idx"),
        ]

    def __str__(self):
        return f"{self.member} · {self.sequence}"


class SendStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    SENT = "sent", _("Sent")
    FAILED = "failed", _("Failed")
    SKIPPED = "skipped", _("Skipped")


class SendRecord(models.Model):
    """What every journeys send keeps: its outcome, and the retry key stored before the call."""

    status = models.CharField(
        _("status"), max_length=16, choices=SendStatus.choices, default=SendStatus.PENDING
    )
    reason = models.CharField(_("reason"), max_length=200, blank=True)
    retry_key = models.UUIDField(_("retry key"), default=uuid.uuid4, editable=False)
    request_id = models.CharField(_("LINE request ID"), max_length=64, blank=True)
    error = models.TextField(_("error"), blank=True)
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    sent_at = models.DateTimeField(_("sent"), null=True, blank=True)

    class Meta:
        abstract = True


class StepSend(SendRecord):
    """One step sent (or skipped) for one enrollment; its retry key is stored before the call."""

    enrollment = models.ForeignKey(
        Enrollment, on_delete=models.CASCADE, related_name="sends", verbose_name=_("enrollment")
    )
    step = models.ForeignKey(
        Step, on_delete=models.CASCADE, related_name="sends", verbose_name=_("step")
    )
    # Sends of identical content claimed together go as one multicast (up to 500 members)
    # with this key, stored before the call; the batch is always sent whole.
    batch_key = models.UUIDField(_("multicast retry key"), null=True, blank=True, editable=False)

    class Meta:
        verbose_name = _("step send")
        verbose_name_plural = _("step sends")
        ordering = ["enrollment", "step__position"]
        constraints = [
            models.UniqueConstraint(fields=["enrollment", "step"], name="stepsend_unique_step"),
            models.UniqueConstraint(fields=["retry_key"], name="stepsend_unique_retry_key"),
            models.CheckConstraint(
                condition=Q(status__in=SendStatus.values), name="stepsend_status_known"
            ),
        ]
        indexes = [
            models.Index(
                fields=["batch_key"],
                condition=Q(batch_key__isnull=False, status="pending"),
                name="stepsend_pending_batch_idx",
            )
        ]

    def __str__(self):
        return f"{self.enrollment_id} · {self.step_id}"


class RuleKind(models.TextChoices):
    EVENT = "event", _("When an event arrives")
    CART_ABANDONED = "cart_abandoned", _("Cart added, no purchase within N hours")
    PRODUCT_BROWSED = "product_browsed", _("Product viewed K times in D days without buying")
    PRICE_DROPPED = "price_dropped", _("Price drop of a product in the cart or favourites")
    BACK_IN_STOCK = "back_in_stock", _("Restock of a product in the cart or favourites")


# Product rules are marketing: always quiet hours, frequency cap and opt-out.
PRODUCT_RULE_KINDS = (RuleKind.PRICE_DROPPED, RuleKind.BACK_IN_STOCK)


class TriggerRule(models.Model):
    """A message sent because of an event: a receipt, a reminder, an abandoned cart."""

    channel = models.ForeignKey(
        Channel, on_delete=models.CASCADE, related_name="trigger_rules", verbose_name=_("channel")
    )
    name = models.CharField(_("name"), max_length=100)
    kind = models.CharField(_("kind"), max_length=20, choices=RuleKind.choices)
    is_active = models.BooleanField(_("active"), default=True)
    event_kind = models.CharField(
        _("event kind"), max_length=32, choices=EventKind.choices, blank=True
    )
    event_name = models.CharField(
        _("event name"), max_length=100, blank=True, help_text=_("Empty: any.")
    )
    event_filter = models.JSONField(
        _("event property filter"),
        default=dict,
        blank=True,
        validators=[validate_property_filter],
    )
    time_property = models.CharField(
        _("time property"),
        max_length=100,
        blank=True,
        help_text=_(
            "The event property holding the time to send relative to (e.g. starts_at of a "
            "reservation). Empty: when the event happened."
        ),
    )
    offset_minutes = models.IntegerField(
        _("offset (minutes)"),
        default=0,
        help_text=_("Negative: before that time (-1440 is a day before). 0: at once."),
    )
    hours = models.PositiveIntegerField(
        _("hours without purchase"), default=24, help_text=_("For abandoned carts.")
    )
    views = models.PositiveIntegerField(
        _("views"), default=3, help_text=_("For product views: this many views of one product...")
    )
    days = models.PositiveIntegerField(
        _("in days"), default=7, help_text=_("...in this many days.")
    )
    respects_frequency_cap = models.BooleanField(
        _("counts as marketing"),
        default=False,
        help_text=_(
            "Marketing rules wait out quiet hours and are skipped over the frequency cap; "
            "receipts and reminders are not."
        ),
    )
    template = models.ForeignKey(
        MessageTemplate,
        on_delete=models.PROTECT,
        related_name="trigger_rules",
        verbose_name=_("message template"),
        help_text=_(
            "Event data is available as {{ data.product_name }}, {{ data.price }}, "
            "{{ data.occurred_at }}... Abandoned carts and viewed products add a carousel. "
            "Price drops and restocks give {{ data.product_name }}, {{ data.old_price }}, "
            "{{ data.new_price }}, {{ data.image_url }} and {{ data.url }}, and add the product."
        ),
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("trigger rule")
        verbose_name_plural = _("trigger rules")
        ordering = ["channel", "name", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(kind__in=RuleKind.values), name="rule_kind_known"),
            models.CheckConstraint(
                condition=~Q(kind="event") | ~Q(event_kind=""), name="rule_event_has_kind"
            ),
            models.CheckConstraint(
                condition=~Q(kind="cart_abandoned") | Q(hours__gte=1), name="rule_cart_hours"
            ),
            models.CheckConstraint(
                condition=~Q(kind="product_browsed") | Q(views__gte=1, days__gte=1),
                name="rule_browse_window",
            ),
        ]

    def __str__(self):
        return self.name

    def clean(self):
        errors = {}
        if self.kind == RuleKind.EVENT and not self.event_kind:
            errors["event_kind"] = _("Choose the event kind that sends the message.")
        if self.kind == RuleKind.CART_ABANDONED and self.hours < 1:
            errors["hours"] = _("Wait at least one hour.")
        if self.kind in PRODUCT_RULE_KINDS:
            self.respects_frequency_cap = True
        if self.kind == RuleKind.PRODUCT_BROWSED and (self.views < 1 or self.days < 1):
            errors["views"] = _("Give at least one view in at least one day.")
        if self.template_id and self.template.channel_id not in (None, self.channel_id):
            errors["template"] = _("This template belongs to another channel.")
        if errors:
            raise ValidationError(errors)


class TriggerSend(SendRecord):
    """One message of a trigger rule to one member, due at a time; unique per rule and cause."""

    rule = models.ForeignKey(
        TriggerRule, on_delete=models.CASCADE, related_name="sends", verbose_name=_("rule")
    )
    member = models.ForeignKey(
        Member, on_delete=models.CASCADE, related_name="trigger_sends", verbose_name=_("member")
    )
    event = models.ForeignKey(
        MemberEvent,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("event"),
    )
    # What this send is about, once per rule: an event, a cart, a product in a window.
    cause = models.CharField(_("cause"), max_length=200)
    due_at = models.DateTimeField(_("due"))
    data = models.JSONField(_("data"), default=dict, blank=True)

    class Meta:
        verbose_name = _("trigger send")
        verbose_name_plural = _("trigger sends")
        ordering = ["-due_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["rule", "cause"], name="triggersend_unique_cause"),
            models.UniqueConstraint(fields=["retry_key"], name="triggersend_unique_retry_key"),
            models.CheckConstraint(
                condition=Q(status__in=SendStatus.values), name="triggersend_status_known"
            ),
        ]
        indexes = [
            models.Index(
                fields=["due_at"], condition=Q(status="pending"), name="triggersend_due_idx"
            ),
        ]

    def __str__(self):
        return f"{self.rule} → {self.member}"


class SegmentPresence(models.Model):
    """Members found in a segment-triggered sequence's segment at its last check.

    A member in the segment now but not here has entered it since.
    """

    sequence = models.ForeignKey(Sequence, on_delete=models.CASCADE, related_name="+")
    member = models.ForeignKey(Member, on_delete=models.CASCADE, related_name="+")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["sequence", "member"], name="presence_unique")
        ]

    def __str__(self):
        return f"{self.sequence_id} · {self.member_id}"
