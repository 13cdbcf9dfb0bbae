"""Segments and audiences: who gets a message.

A segment is a versioned JSON tree of rules (see ``members.segments`` for the shape), compiled
to one SQL query. An audience is an uploaded list (LINE user IDs, customer IDs, or hashed
emails / phone numbers) that segments can include or exclude.
"""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _

from linebot.models import Channel

__all__ = ["Audience", "AudienceEntry", "AudienceKind", "Segment", "segment_definition_empty"]


def segment_definition_empty() -> dict:
    return {"version": 1, "root": {"type": "group", "op": "and", "rules": []}}


class Segment(models.Model):
    """A named, reusable set of members, defined by rules and evaluated when asked."""

    channel = models.ForeignKey(
        Channel, on_delete=models.CASCADE, related_name="segments", verbose_name=_("channel")
    )
    name = models.CharField(_("name"), max_length=100)
    description = models.TextField(_("description"), blank=True)
    definition = models.JSONField(
        _("rules"),
        default=segment_definition_empty,
        help_text=_("Versioned JSON of the rule tree; edited with the rule builder."),
    )
    last_count = models.PositiveIntegerField(_("members (last count)"), null=True, blank=True)
    last_counted_at = models.DateTimeField(_("last counted"), null=True, blank=True)
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
        verbose_name = _("segment")
        verbose_name_plural = _("segments")
        ordering = ["name", "id"]
        permissions = [("export_segment", _("Can export the members of a segment"))]
        constraints = [
            models.UniqueConstraint(fields=["channel", "name"], name="segment_unique_name")
        ]

    def __str__(self):
        return self.name

    def save(self, *args, **kwargs):
        # The rules are checked on every save, not only through forms: a bad or cyclic
        # definition never reaches the database.
        update_fields = kwargs.get("update_fields")
        if update_fields is None or "definition" in update_fields:
            self._validate_definition()
        super().save(*args, **kwargs)

    def clean(self):
        if self.channel_id is None:
            return
        try:
            self._validate_definition()
        except ValidationError as error:
            raise ValidationError({"definition": error.messages}) from None

    def _validate_definition(self):
        from members.segments import segment_validate

        self.definition = segment_validate(self.definition, channel=self.channel, segment=self)


class AudienceKind(models.TextChoices):
    LINE_USER_ID = "line_user_id", _("LINE user IDs")
    CUSTOMER_ID = "customer_id", _("Customer IDs")
    EMAIL = "email", _("Email addresses (stored hashed)")
    PHONE = "phone", _("Phone numbers (stored hashed)")


class Audience(models.Model):
    """An uploaded list of people. The file itself is never kept; emails and phone numbers
    are stored only as SHA-256 hashes of their normalised form."""

    channel = models.ForeignKey(
        Channel, on_delete=models.CASCADE, related_name="audiences", verbose_name=_("channel")
    )
    name = models.CharField(_("name"), max_length=100)
    description = models.TextField(_("description"), blank=True)
    kind = models.CharField(_("contents"), max_length=16, choices=AudienceKind.choices)
    row_count = models.PositiveIntegerField(_("rows read"), default=0)
    entry_count = models.PositiveIntegerField(_("entries"), default=0)
    invalid_count = models.PositiveIntegerField(_("bad rows"), default=0)
    duplicate_count = models.PositiveIntegerField(_("duplicates"), default=0)
    matched_count = models.PositiveIntegerField(_("matched members"), default=0)
    errors = models.JSONField(
        _("bad rows"),
        default=list,
        blank=True,
        help_text=_("Line number and reason of each rejected row (the first 1,000)."),
    )
    matched_at = models.DateTimeField(_("matched"), null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("uploaded by"),
    )
    created_at = models.DateTimeField(_("uploaded"), auto_now_add=True)

    class Meta:
        verbose_name = _("audience")
        verbose_name_plural = _("audiences")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["channel", "name"], name="audience_unique_name")
        ]

    def __str__(self):
        return self.name

    @property
    def match_rate(self) -> float | None:
        """Share of the entries that matched a member of the channel (0..1)."""
        if not self.entry_count:
            return None
        return self.matched_count / self.entry_count


class AudienceEntry(models.Model):
    """One identifier of an audience: a LINE user ID, a customer ID, or a SHA-256 hex digest."""

    audience = models.ForeignKey(
        Audience, on_delete=models.CASCADE, related_name="entries", verbose_name=_("audience")
    )
    value = models.CharField(_("value"), max_length=100)

    class Meta:
        verbose_name = _("audience entry")
        verbose_name_plural = _("audience entries")
        constraints = [
            models.UniqueConstraint(fields=["audience", "value"], name="audienceentry_unique")
        ]

    def __str__(self):
        return self.value
