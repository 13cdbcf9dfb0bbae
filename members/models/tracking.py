"""Click tracking: links in our messages that go through a redirect of ours, and their clicks.

A ``TrackedLink`` is one destination URL in one message source (a campaign, a step...), for
one member or for everyone who got it. Its token is the only thing in the redirect URL, so a
tracked link can lead nowhere but the URL stored here (no open redirect).
"""

import secrets

from django.db import models
from django.db.models.functions import MD5
from django.utils.translation import gettext_lazy as _

from .core import Member, MessageSource

__all__ = ["LinkClick", "TrackedLink", "tracked_link_token"]

# Destinations may be longer than LINE's 1,000-character URI limit: only our short redirect
# URL goes into the message.
URL_MAX_LENGTH = 4000


def tracked_link_token() -> str:
    """16 URL-safe characters (96 random bits): short in a message, impossible to guess."""
    return secrets.token_urlsafe(12)


class TrackedLink(models.Model):
    token = models.CharField(
        _("token"), max_length=32, unique=True, default=tracked_link_token, editable=False
    )
    url = models.URLField(_("destination"), max_length=URL_MAX_LENGTH)
    source = models.CharField(_("source"), max_length=16, choices=MessageSource.choices)
    source_id = models.PositiveBigIntegerField(
        _("source ID"), help_text=_("The campaign, step or rule whose message has the link.")
    )
    member = models.ForeignKey(
        Member,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="tracked_links",
        verbose_name=_("member"),
        help_text=_("Clicks are counted for this member; empty: for whoever clicks."),
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("tracked link")
        verbose_name_plural = _("tracked links")
        ordering = ["-created_at", "-id"]
        constraints = [
            # One link per destination, source and member, so resending reuses it; the URL is
            # hashed to keep the index entry small whatever its length.
            models.UniqueConstraint(
                "source",
                "source_id",
                "member",
                MD5("url"),
                name="trackedlink_unique_per_source_member_url",
                nulls_distinct=False,
            ),
        ]

    def __str__(self):
        return self.url


class LinkClick(models.Model):
    """One click on a tracked link (source and URL copied, so counts need no join)."""

    link = models.ForeignKey(
        TrackedLink, on_delete=models.CASCADE, related_name="clicks", verbose_name=_("link")
    )
    member = models.ForeignKey(
        Member,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="link_clicks",
        verbose_name=_("member"),
    )
    source = models.CharField(_("source"), max_length=16, choices=MessageSource.choices)
    source_id = models.PositiveBigIntegerField(_("source ID"))
    url = models.URLField(_("destination"), max_length=URL_MAX_LENGTH)
    clicked_at = models.DateTimeField(_("clicked"), auto_now_add=True)

    class Meta:
        verbose_name = _("link click")
        verbose_name_plural = _("link clicks")
        ordering = ["-clicked_at", "-id"]
        indexes = [
            # Segments: "did this member click in campaign C (in the last N days)".
            models.Index(
                fields=["member", "source", "source_id", "clicked_at"], name="linkclick_member_idx"
            ),
            # Reports: clicks and clickers per campaign, read from the index alone.
            models.Index(
                fields=["source", "source_id", "clicked_at"],
                include=["member_id"],
                name="linkclick_source_idx",
            ),
        ]

    def __str__(self):
        return self.url
