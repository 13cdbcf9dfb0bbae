"""Celery tasks of per-segment rich menus. Named under ``members.tasks`` so that the routes by
name (``*.tasks.housekeeping_*``) apply; registered when ``members.richmenu_receivers`` loads."""

import logging

from celery import shared_task

from linebot.errors import LineApiError
from linebot.models import Channel
from linebot.richmenus import rich_menus_check

from .models import Member, RichMenuRelink, RichMenuRule
from .richmenus import (
    RETRYABLE,
    RelinkBusy,
    member_rich_menu_refresh,
    relink_run,
    relink_start,
)

logger = logging.getLogger(__name__)


@shared_task(
    name="members.tasks.richmenu_member_refresh",
    ignore_result=True,
    autoretry_for=RETRYABLE,
    retry_backoff=5,
    max_retries=5,
    acks_late=True,
)
def richmenu_member_refresh(member_id: int) -> None:
    member = Member.objects.filter(pk=member_id).first()
    if member:
        member_rich_menu_refresh(member)


@shared_task(
    bind=True,
    name="members.tasks.housekeeping_richmenu_relink",
    ignore_result=True,
    autoretry_for=RETRYABLE,
    retry_backoff=30,
    max_retries=5,
    acks_late=True,
)
def housekeeping_richmenu_relink(self, relink_id: int) -> None:
    relink = RichMenuRelink.objects.filter(pk=relink_id).first()
    if relink:
        try:
            relink_run(relink)
        except RelinkBusy as busy:
            # One re-evaluation per channel at a time; this one waits its turn.
            raise self.retry(countdown=30, max_retries=240) from busy


@shared_task(name="members.tasks.housekeeping_richmenu_relink_all", ignore_result=True)
def housekeeping_richmenu_relink_all() -> None:
    """Re-evaluate every channel with rules: segments with time windows ("bought in the last
    30 days") change as days pass, with no data change to trigger a relink. Run it nightly."""
    channels = Channel.objects.active().filter(
        pk__in=RichMenuRule.objects.filter(is_active=True).values("channel_id")
    )
    for channel in channels:
        relink_start(channel)


@shared_task(name="members.tasks.housekeeping_richmenus_check", ignore_result=True)
def housekeeping_richmenus_check() -> None:
    """Compare every channel's menus and aliases with LINE, so the admin shows what drifted
    (menus deleted in the LINE console, aliases moved by hand)."""
    for channel in Channel.objects.active().filter(rich_menus__isnull=False).distinct():
        try:
            rich_menus_check(channel)
        except LineApiError:
            logger.exception("Checking the rich menus of channel %s failed", channel.pk)
