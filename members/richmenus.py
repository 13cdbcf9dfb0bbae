"""Which rich menu each member sees: rule evaluation, per-member relinks, full re-evaluations,
and taps on rich menu areas.

A member matching a segment rule gets that rule's menu linked to them (per-user links beat
LINE's default and show at once). Everyone else is unlinked, so they see the channel default
(the default rule's menu, set as LINE's default). A full re-evaluation compares what each member
should have with ``MemberRichMenu`` and sends only the differences, with LINE's bulk link and
unlink (500 users a request).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.db.models import Count, F
from django.utils import timezone

from linebot.errors import LineApiError, LineRateLimited, LineServerError, LineTransportError
from linebot.models import Channel, RichMenu, RichMenuAlias
from linebot.richmenus import (
    ACCOUNT_LINK_DATA,
    RichMenuSyncError,
    TapStats,
    rich_menu_bulk_apply,
    rich_menu_default_apply,
    rich_menu_user_apply,
    tap_stats_install,
)

from .models import (
    FriendStatus,
    Member,
    MemberRichMenu,
    RichMenuRelink,
    RichMenuRelinkStatus,
    RichMenuRule,
    RichMenuTap,
)
from .segments import segment_contains, segment_queryset

logger = logging.getLogger(__name__)

RETRYABLE = (LineServerError, LineTransportError, LineRateLimited)
# A running re-evaluation older than this is taken to have died with its worker.
RELINK_STALE_AFTER = dt.timedelta(hours=2)


class RelinkBusy(Exception):
    """Another re-evaluation of the channel is running; try again once it has finished."""


def rich_menu_rules(channel: Channel | int) -> tuple[list[RichMenuRule], RichMenuRule | None]:
    """The channel's active segment rules in priority order, and its default rule."""
    channel_id = channel if isinstance(channel, int) else channel.pk
    rules = list(
        RichMenuRule.objects.filter(channel_id=channel_id, is_active=True)
        .select_related("segment", "rich_menu")
        .order_by("priority", "id")
    )
    default = next((rule for rule in rules if rule.segment_id is None), None)
    return [rule for rule in rules if rule.segment_id is not None], default


def member_rich_menu_rule(member: Member, *, now: dt.datetime | None = None) -> RichMenuRule | None:
    """The rule that decides the member's menu: the first segment rule they match, else the
    default rule (None when the channel has neither)."""
    rules, default = rich_menu_rules(member.channel_id)
    for rule in rules:
        if segment_contains(rule.segment, member, now=now):
            return rule
    return default


@dataclass(frozen=True)
class Target:
    """What a member should have: a menu linked to them, or no link (the default shows)."""

    rule_id: int | None
    menu_id: int | None
    linked: bool


def _target(rule: RichMenuRule | None) -> Target:
    if rule is None:
        return Target(None, None, False)
    return Target(rule.pk, rule.rich_menu_id, not rule.is_default)


def member_rich_menu_refresh(member: Member) -> bool:
    """Re-evaluate one member and relink them on LINE if their menu changes; True if it did.

    A member who switched tabs keeps the tab while the rule deciding their menu stays the same.
    Non-friends are left alone (LINE cannot show them anything); they are evaluated on follow.
    """
    member_pk = member.pk
    with transaction.atomic():
        # One refresh of a member at a time: two workers must not apply menus out of order.
        rows = Member.objects.select_for_update(of=("self",)).select_related("channel")
        member = rows.get(pk=member_pk)
        if member.friend_status != FriendStatus.FRIEND:
            return False
        return _refresh(member)


def _refresh(member: Member) -> bool:
    rule = member_rich_menu_rule(member)
    target = _target(rule)
    state = MemberRichMenu.objects.filter(member=member).first()
    if state is not None and not state.error:
        if state.switched_by_tap and state.rule_id == target.rule_id and state.rule_id:
            return False
        if (
            state.rule_id == target.rule_id
            and state.linked == target.linked
            and state.rich_menu_id == target.menu_id
            and not state.switched_by_tap
        ):
            return False
    if state is None and rule is None:
        return False
    menu = rule.rich_menu if target.linked else None
    error = ""
    try:
        rich_menu_user_apply(member.channel, user_id=member.line_user_id, menu=menu)
    except RETRYABLE:
        raise
    except (LineApiError, RichMenuSyncError) as exc:
        error = str(exc)
        logger.warning("Rich menu for member %s not applied: %s", member.pk, exc)
    MemberRichMenu.objects.update_or_create(
        member=member,
        defaults={
            "rich_menu_id": target.menu_id,
            "rule_id": target.rule_id,
            "linked": target.linked,
            "switched_by_tap": False,
            "applied_at": timezone.now(),
            "error": error,
        },
    )
    return not error


def member_rich_menu_refresh_later(member_id: int, channel_id: int | None = None) -> None:
    """Re-evaluate a member in a worker once the current transaction commits.

    Channels without rich menu rules cost one cheap query and no task.
    """
    if channel_id is None:
        channel_id = (
            Member.objects.filter(pk=member_id).values_list("channel_id", flat=True).first()
        )
    if channel_id is None:
        return
    if not RichMenuRule.objects.filter(channel_id=channel_id, is_active=True).exists():
        return
    from .tasks_richmenus import richmenu_member_refresh

    transaction.on_commit(lambda: richmenu_member_refresh.delay(member_id))


# ---------------------------------------------------------------------------------------------
# Full re-evaluation


def rich_menu_targets(channel: Channel) -> tuple[dict[int, RichMenuRule], RichMenuRule | None]:
    """Every friend matched by a segment rule, to that rule (one query per rule)."""
    rules, default = rich_menu_rules(channel)
    assigned: dict[int, RichMenuRule] = {}
    for rule in rules:
        ids = segment_queryset(rule.segment).filter(friend_status=FriendStatus.FRIEND)
        for member_id in ids.values_list("pk", flat=True).iterator(chunk_size=5000):
            assigned.setdefault(member_id, rule)
    return assigned, default


def relink_start(channel: Channel, *, requested_by=None) -> RichMenuRelink:
    """Queue a full re-evaluation of the channel (reusing one that has not started yet)."""
    from .tasks_richmenus import housekeeping_richmenu_relink

    pending = RichMenuRelink.objects.filter(
        channel=channel, status=RichMenuRelinkStatus.PENDING
    ).first()
    if pending is not None:
        return pending
    relink = RichMenuRelink.objects.create(channel=channel, requested_by=requested_by)
    relink_id = relink.pk
    transaction.on_commit(lambda: housekeeping_richmenu_relink.delay(relink_id))
    return relink


def relink_run(relink: RichMenuRelink) -> RichMenuRelink:
    """Run a full re-evaluation: set the default, then bulk link and unlink the differences.

    Progress is saved after every LINE request; running it again after a crash only sends
    what is still different.
    """
    relink = RichMenuRelink.objects.select_related("channel").get(pk=relink.pk)
    if relink.status == RichMenuRelinkStatus.DONE:
        return relink
    channel = relink.channel
    busy = RichMenuRelink.objects.filter(
        channel=channel,
        status=RichMenuRelinkStatus.RUNNING,
        started_at__gte=timezone.now() - RELINK_STALE_AFTER,
    ).exclude(pk=relink.pk)
    if busy.exists():
        raise RelinkBusy(channel.pk)
    RichMenuRelink.objects.filter(pk=relink.pk).update(
        status=RichMenuRelinkStatus.RUNNING, started_at=timezone.now(), error=""
    )
    try:
        assigned, default = rich_menu_targets(channel)
        rich_menu_default_apply(channel, default.rich_menu if default else None)
        changes = _relink_changes(channel, assigned, default)
        total = sum(len(ids) for ids in changes.values())
        friends = Member.objects.filter(channel=channel).friends().count()
        RichMenuRelink.objects.filter(pk=relink.pk).update(
            total=total, done=0, unchanged=max(0, friends - total)
        )
        menus = {menu.pk: menu for menu in RichMenu.objects.filter(channel=channel)}
        default_target = _target(default)
        for (menu_id, rule_id), member_ids in changes.items():
            _relink_group(
                relink,
                channel,
                menu=menus[menu_id] if menu_id else None,
                target=Target(rule_id, menu_id, True)
                if menu_id
                else Target(default_target.rule_id, default_target.menu_id, False),
                member_ids=member_ids,
            )
    except Exception as exc:
        RichMenuRelink.objects.filter(pk=relink.pk).update(
            status=RichMenuRelinkStatus.FAILED, error=str(exc), finished_at=timezone.now()
        )
        raise
    RichMenuRelink.objects.filter(pk=relink.pk).update(
        status=RichMenuRelinkStatus.DONE, finished_at=timezone.now()
    )
    relink.refresh_from_db()
    return relink


def _relink_changes(
    channel: Channel, assigned: dict[int, RichMenuRule], default: RichMenuRule | None
) -> dict[tuple[int | None, int | None], list[int]]:
    """Members whose menu must change, grouped by (menu to link or None to unlink, rule)."""
    states = {
        row[0]: row[1:]
        for row in MemberRichMenu.objects.filter(member__channel=channel).values_list(
            "member_id", "rich_menu_id", "rule_id", "linked", "error"
        )
    }
    default_target = _target(default)
    changes: dict[tuple[int | None, int | None], list[int]] = defaultdict(list)
    friends = Member.objects.filter(channel=channel).friends().values_list("pk", flat=True)
    for member_id in friends.iterator(chunk_size=5000):
        rule = assigned.get(member_id)
        target = _target(rule) if rule else default_target
        state = states.get(member_id)
        if state is not None and not state[3]:
            menu_id, rule_id, linked, _error = state
            if (menu_id, rule_id, linked) == (target.menu_id, target.rule_id, target.linked):
                continue
        elif state is None and not target.linked and target.rule_id is None:
            # Never linked by us and nothing to show: nothing to undo.
            continue
        key = (target.menu_id, target.rule_id) if target.linked else (None, None)
        changes[key].append(member_id)
    return changes


def _relink_group(
    relink: RichMenuRelink,
    channel: Channel,
    *,
    menu: RichMenu | None,
    target: Target,
    member_ids: Sequence[int],
) -> None:
    line_ids = dict(Member.objects.filter(pk__in=member_ids).values_list("line_user_id", "pk"))

    def recorded(batch: Sequence[str]) -> None:
        now = timezone.now()
        MemberRichMenu.objects.bulk_create(
            [
                MemberRichMenu(
                    member_id=line_ids[user_id],
                    rich_menu_id=target.menu_id,
                    rule_id=target.rule_id,
                    linked=target.linked,
                    switched_by_tap=False,
                    applied_at=now,
                    error="",
                )
                for user_id in batch
            ],
            update_conflicts=True,
            unique_fields=["member"],
            update_fields=["rich_menu", "rule", "linked", "switched_by_tap", "applied_at", "error"],
        )
        RichMenuRelink.objects.filter(pk=relink.pk).update(
            done=F("done") + len(batch), requests=F("requests") + 1
        )

    rich_menu_bulk_apply(channel, menu=menu, user_ids=list(line_ids), on_batch=recorded)


# ---------------------------------------------------------------------------------------------
# Taps


def _area_index(menu: RichMenu, data: str) -> int | None:
    """1-based number of the menu's area whose postback data is ``data``."""
    for index, area in enumerate(menu.areas or []):
        action = area.get("action") or {}
        area_data = (
            ACCOUNT_LINK_DATA if action.get("type") == "account_link" else action.get("data")
        )
        if area_data == data:
            return index + 1
    return None


def _menu_shown(member: Member) -> RichMenu | None:
    state = MemberRichMenu.objects.filter(member=member).select_related("rich_menu").first()
    if state is not None and state.linked and state.rich_menu is not None:
        return state.rich_menu
    _rules, default = rich_menu_rules(member.channel_id)
    return default.rich_menu if default else None


def rich_menu_tap_record(
    *, member: Member, data: str, params: dict, event: dict
) -> RichMenuTap | None:
    """Log a postback that came from a rich menu area; None if no menu has that postback.

    The menu the member is known to see is searched first, then the channel's other menus. A
    ``richmenuswitch`` tap also records the menu the member switched to.
    """
    if not data:
        return None
    shown = _menu_shown(member)
    found = (shown, _area_index(shown, data)) if shown else (None, None)
    if found[1] is None:
        found = (None, None)
        for menu in RichMenu.objects.filter(channel_id=member.channel_id).order_by("pk"):
            index = _area_index(menu, data)
            if index is not None:
                found = (menu, index)
                break
    menu, area = found
    if menu is None:
        return None
    timestamp = event.get("timestamp")
    tapped_at = (
        dt.datetime.fromtimestamp(timestamp / 1000, tz=dt.UTC) if timestamp else timezone.now()
    )
    event_id = event.get("webhookEventId") or ""
    tap = RichMenuTap(
        member=member,
        rich_menu=menu,
        area=area,
        data=data[:300],
        params=params or {},
        webhook_event_id=event_id,
        tapped_at=tapped_at,
    )
    try:
        with transaction.atomic():
            tap.save()
    except IntegrityError:
        return None  # the same webhook event, logged already
    alias_id = (params or {}).get("newRichMenuAliasId")
    if alias_id and (params or {}).get("status", "SUCCESS") == "SUCCESS":
        _record_switch(member, alias_id)
    return tap


def _record_switch(member: Member, alias_id: str) -> None:
    alias = (
        RichMenuAlias.objects.filter(channel_id=member.channel_id, alias_id=alias_id)
        .select_related("rich_menu")
        .first()
    )
    if alias is None:
        return
    state = MemberRichMenu.objects.filter(member=member).first()
    rule_id = state.rule_id if state else None
    if state is None:
        rule = member_rich_menu_rule(member)
        rule_id = rule.pk if rule else None
    MemberRichMenu.objects.update_or_create(
        member=member,
        defaults={
            "rich_menu": alias.rich_menu,
            "rule_id": rule_id,
            "linked": True,
            "switched_by_tap": True,
            "applied_at": timezone.now(),
            "error": "",
        },
    )


def tap_counts(menu: RichMenu, *, since: dt.datetime | None = None) -> dict[int, int]:
    """Taps per area number (1-based) of a menu."""
    taps = RichMenuTap.objects.filter(rich_menu=menu)
    if since is not None:
        taps = taps.filter(tapped_at__gte=since)
    return dict(taps.values_list("area").annotate(n=Count("pk")).values_list("area", "n"))


class _MemberTapStats(TapStats):
    def per_area(self, menu: RichMenu) -> dict[int, int]:
        return tap_counts(menu)

    def per_menu(self, menu_ids) -> dict[int, int]:
        rows = (
            RichMenuTap.objects.filter(rich_menu_id__in=list(menu_ids))
            .values_list("rich_menu_id")
            .annotate(n=Count("pk"))
        )
        return dict(rows.values_list("rich_menu_id", "n"))


tap_stats_install(_MemberTapStats())
