"""Per-segment rich menus: rule evaluation, per-member relinks, full re-evaluation in bulk,
and the tap log, against the sandbox over real HTTP."""

import pytest
from django.utils import timezone

from linebot.models import RichMenuAlias
from linebot.richmenus import alias_sync, rich_menu_sync
from linebot.sandbox.state import SimUser
from members import signals
from members.models import (
    FriendStatus,
    Member,
    MemberRichMenu,
    RichMenuRelink,
    RichMenuRelinkStatus,
    RichMenuRule,
    RichMenuTap,
    Segment,
    Tag,
)
from members.richmenus import (
    member_rich_menu_refresh,
    member_rich_menu_rule,
    relink_run,
    relink_start,
    rich_menu_tap_record,
    tap_counts,
)
from tests.linebot.test_richmenus import channel_create, make_menu

pytestmark = pytest.mark.django_db


@pytest.fixture
def channel(sandbox, settings, tmp_path):
    return channel_create(sandbox, settings, tmp_path)


def segment(channel, name, *rules):
    return Segment.objects.create(
        channel=channel,
        name=name,
        definition={"version": 1, "root": {"type": "group", "op": "and", "rules": list(rules)}},
    )


def friend(channel, sandbox, n=1, **fields):
    user = SimUser(user_id=f"U{n:032x}", display_name=f"User {n}", is_friend=True)
    sandbox.app.sandbox.channels[channel.channel_id].users[user.user_id] = user
    return Member.objects.create(
        channel=channel,
        line_user_id=user.user_id,
        **{"friend_status": FriendStatus.FRIEND, **fields},
    )


def line_menu_of(sandbox, member):
    return sandbox.control.user(member.channel.channel_id, member.line_user_id)["richMenuId"]


@pytest.fixture
def vip_tag(channel):
    return Tag.objects.create(channel=channel, name="VIP")


@pytest.fixture
def menus(channel, vip_tag):
    gold = make_menu(channel, name="Gold", shade=0x30)
    linked = make_menu(channel, name="Linked", shade=0x40)
    guest = make_menu(channel, name="Guest", shade=0x50)
    gold_rule = RichMenuRule.objects.create(
        channel=channel,
        priority=10,
        rich_menu=gold,
        segment=segment(channel, "Gold", {"type": "rank", "values": ["gold", "platinum"]}),
    )
    linked_rule = RichMenuRule.objects.create(
        channel=channel,
        priority=20,
        rich_menu=linked,
        segment=segment(channel, "VIP", {"type": "tags", "match": "any", "tags": [vip_tag.pk]}),
    )
    default_rule = RichMenuRule.objects.create(channel=channel, rich_menu=guest)
    return {
        "gold": gold,
        "linked": linked,
        "guest": guest,
        "gold_rule": gold_rule,
        "linked_rule": linked_rule,
        "default_rule": default_rule,
    }


def test_the_first_matching_rule_by_priority_wins_else_the_default(
    channel, sandbox, menus, vip_tag
):
    member = friend(channel, sandbox, rank="gold")
    member.tags.add(vip_tag)
    assert member_rich_menu_rule(member) == menus["gold_rule"]

    menus["linked_rule"].priority = 5
    menus["linked_rule"].save()
    assert member_rich_menu_rule(member) == menus["linked_rule"]

    other = friend(channel, sandbox, n=2)
    assert member_rich_menu_rule(other) == menus["default_rule"]


def test_inactive_rules_are_skipped(channel, sandbox, menus):
    member = friend(channel, sandbox, rank="gold")
    RichMenuRule.objects.filter(pk=menus["gold_rule"].pk).update(is_active=False)
    assert member_rich_menu_rule(member) == menus["default_rule"]


def test_a_member_is_linked_when_their_data_changes_and_unlinked_back_to_the_default(
    channel,
    sandbox,
    menus,
):
    member = friend(channel, sandbox)
    assert member_rich_menu_refresh(member) is True  # recorded: sees the default
    assert line_menu_of(sandbox, member) is None

    Member.objects.filter(pk=member.pk).update(rank="gold")
    assert member_rich_menu_refresh(member) is True

    gold = menus["gold"]
    gold.refresh_from_db()
    assert line_menu_of(sandbox, member) == gold.line_rich_menu_id
    state = MemberRichMenu.objects.get(member=member)
    assert (state.rich_menu, state.rule, state.linked) == (gold, menus["gold_rule"], True)

    assert member_rich_menu_refresh(member) is False  # unchanged: no LINE call
    assert len(sandbox.control.requests(endpoint="richmenu_link")) == 1

    Member.objects.filter(pk=member.pk).update(rank="regular")
    member_rich_menu_refresh(member)
    assert line_menu_of(sandbox, member) is None
    state.refresh_from_db()
    assert (state.rich_menu, state.linked) == (menus["guest"], False)


def test_blocked_members_are_left_alone(channel, sandbox, menus):
    member = friend(channel, sandbox, rank="gold", friend_status=FriendStatus.BLOCKED)
    assert member_rich_menu_refresh(member) is False
    assert sandbox.control.requests(endpoint="richmenu_link") == []


def test_a_rule_change_queues_one_re_evaluation(channel, menus, django_capture_on_commit_callbacks):
    RichMenuRelink.objects.all().delete()
    with django_capture_on_commit_callbacks() as callbacks:
        menus["gold_rule"].priority = 30
        menus["gold_rule"].save()
        menus["linked_rule"].priority = 40
        menus["linked_rule"].save()
    assert RichMenuRelink.objects.filter(status=RichMenuRelinkStatus.PENDING).count() == 1
    assert len(callbacks) == 1


def test_ten_thousand_members_are_relinked_in_batches_of_500(channel, sandbox, menus):
    users = sandbox.app.sandbox.channels[channel.channel_id].users
    members = []
    for n in range(1, 10_001):
        user_id = f"U{n:032x}"
        users[user_id] = SimUser(user_id=user_id, display_name=f"User {n}", is_friend=True)
        members.append(
            Member(
                channel=channel,
                line_user_id=user_id,
                friend_status=FriendStatus.FRIEND,
                rank="gold" if n % 4 == 0 else "regular",
            )
        )
    Member.objects.bulk_create(members, batch_size=2000)
    RichMenuRelink.objects.all().delete()

    relink = relink_run(relink_start(channel))

    assert relink.status == RichMenuRelinkStatus.DONE
    assert (relink.total, relink.done, relink.requests) == (10_000, 10_000, 20)
    assert relink.percent == 100
    links = sandbox.control.requests(endpoint="richmenu_bulk_link")
    unlinks = sandbox.control.requests(endpoint="richmenu_bulk_unlink")
    assert len(links) == 5 and len(unlinks) == 15
    assert all(len(r["body"]["userIds"]) <= 500 for r in links + unlinks)
    gold = menus["gold"]
    guest = menus["guest"]
    gold.refresh_from_db()
    guest.refresh_from_db()
    state = sandbox.control.rich_menus(channel.channel_id)
    assert state["defaultRichMenuId"] == guest.line_rich_menu_id
    assert len(state["userLinks"]) == 2500
    assert set(state["userLinks"].values()) == {gold.line_rich_menu_id}
    assert MemberRichMenu.objects.filter(rich_menu=gold, linked=True).count() == 2500

    # Only the differences go next time.
    Member.objects.filter(pk__in=[m.pk for m in members[:1000]]).update(rank="platinum")
    again = relink_run(relink_start(channel))
    assert (again.total, again.requests) == (750, 2)
    assert len(sandbox.control.rich_menus(channel.channel_id)["userLinks"]) == 3250


def test_a_relink_within_a_tight_rate_limit_still_finishes(channel, sandbox, menus):
    for n in range(1, 1201):
        friend(channel, sandbox, n=n, rank="gold")
    sandbox.control.limits_set(rate_limits={"richmenu_bulk_link": (1, 0.5)})
    RichMenuRelink.objects.all().delete()

    relink = relink_run(relink_start(channel))

    assert relink.status == RichMenuRelinkStatus.DONE and relink.done == 1200
    statuses = [r["status"] for r in sandbox.control.requests(endpoint="richmenu_bulk_link")]
    assert statuses.count(202) == 3 and 429 in statuses


def test_a_failed_relink_keeps_its_error(channel, sandbox, menus):
    friend(channel, sandbox, rank="gold")
    sandbox.control.faults_set([{"kind": "500", "path": "/v2/bot/user/all/richmenu/*"}])
    RichMenuRelink.objects.all().delete()
    with pytest.raises(Exception):  # noqa: B017 (whatever LINE answered, it is kept)
        relink_run(relink_start(channel))
    relink = RichMenuRelink.objects.get()
    assert relink.status == RichMenuRelinkStatus.FAILED and relink.error


def _postback_event(data, **params):
    return {
        "type": "postback",
        "webhookEventId": f"01TAP{data}{len(params)}",
        "timestamp": int(timezone.now().timestamp() * 1000),
        "postback": {"data": data, "params": params},
    }


def test_postbacks_from_menu_areas_are_logged_per_area(channel, sandbox, menus):
    member = friend(channel, sandbox)
    guest = menus["guest"]

    for data in ("area=2", "area=2", "area=3", "not-from-a-menu"):
        event = _postback_event(data)
        event["webhookEventId"] += str(RichMenuTap.objects.count()) + data
        signals.postback_received.send(
            sender=Member, member=member, data=data, params={}, event=event
        )

    assert tap_counts(guest) == {2: 2, 3: 1}
    assert RichMenuTap.objects.filter(member=member).count() == 3


def test_a_redelivered_postback_is_logged_once(channel, sandbox, menus):
    member = friend(channel, sandbox)
    event = _postback_event("area=1")
    assert rich_menu_tap_record(member=member, data="area=1", params={}, event=event)
    assert rich_menu_tap_record(member=member, data="area=1", params={}, event=event) is None
    assert RichMenuTap.objects.count() == 1


def test_the_menu_the_member_sees_decides_which_area_was_tapped(channel, sandbox, menus):
    member = friend(channel, sandbox, rank="gold")
    member_rich_menu_refresh(member)
    tap = rich_menu_tap_record(member=member, data="area=1", params={}, event=_postback_event("x"))
    assert tap.rich_menu == menus["gold"] and tap.area == 1


def test_a_tab_switch_is_logged_and_recorded_as_the_members_menu(channel, sandbox, menus):
    tab_b = make_menu(channel, name="Tab B", shade=0x60)
    alias = RichMenuAlias.objects.create(channel=channel, alias_id="tab-b", rich_menu=tab_b)
    guest = menus["guest"]
    guest.areas[0]["action"] = {
        "type": "richmenuswitch",
        "richMenuAliasId": "tab-b",
        "data": "to-b",
    }
    guest.save()
    alias_sync(alias)
    rich_menu_sync(guest)
    member = friend(channel, sandbox)

    tap = rich_menu_tap_record(
        member=member,
        data="to-b",
        params={"newRichMenuAliasId": "tab-b", "status": "SUCCESS"},
        event=_postback_event("to-b", n=1),
    )

    assert (tap.rich_menu, tap.area) == (guest, 1)
    state = MemberRichMenu.objects.get(member=member)
    assert (state.rich_menu, state.switched_by_tap) == (tab_b, True)
    # Their rule has not changed: a re-evaluation keeps the tab they chose.
    assert member_rich_menu_refresh(member) is False


def test_editing_a_segment_a_rule_uses_queues_a_re_evaluation(channel, menus):
    RichMenuRelink.objects.all().delete()
    gold_segment = menus["gold_rule"].segment
    gold_segment.definition["root"]["rules"][0]["values"] = ["platinum"]
    gold_segment.save()
    assert RichMenuRelink.objects.filter(channel=channel, status="pending").count() == 1


def test_the_nightly_task_queues_every_channel_with_rules(channel, menus):
    from members.tasks_richmenus import housekeeping_richmenu_relink_all

    RichMenuRelink.objects.all().delete()
    housekeeping_richmenu_relink_all()
    assert list(RichMenuRelink.objects.values_list("channel_id", flat=True)) == [channel.pk]


def test_one_re_evaluation_runs_per_channel_at_a_time(channel, menus):
    from members.richmenus import RelinkBusy

    RichMenuRelink.objects.all().delete()
    RichMenuRelink.objects.create(
        channel=channel, status=RichMenuRelinkStatus.RUNNING, started_at=timezone.now()
    )
    waiting = RichMenuRelink.objects.create(channel=channel)
    with pytest.raises(RelinkBusy):
        relink_run(waiting)
    waiting.refresh_from_db()
    assert waiting.status == RichMenuRelinkStatus.PENDING


def test_the_periodic_check_marks_menus_gone_from_line(channel, sandbox):
    from linebot.client import client_for_channel
    from linebot.models import RichMenuSyncStatus
    from linebot.richmenus import rich_menu_status
    from members.tasks_richmenus import housekeeping_richmenus_check

    menu = rich_menu_sync(make_menu(channel))
    client_for_channel(channel).rich_menu_delete(rich_menu_id=menu.line_rich_menu_id)

    housekeeping_richmenus_check()

    menu.refresh_from_db()
    assert rich_menu_status(menu) == RichMenuSyncStatus.FAILED
    assert menu.sync_error


def test_member_changes_queue_a_refresh_after_commit_but_profile_refreshes_do_not(
    channel, sandbox, menus, vip_tag, django_capture_on_commit_callbacks
):
    from members.models import MemberEvent

    member = friend(channel, sandbox)
    with django_capture_on_commit_callbacks() as callbacks:
        member.display_name = "New name"
        member.save(update_fields=["display_name", "updated_at"])
    assert callbacks == []
    for change in (
        lambda: member.save(),
        lambda: member.tags.add(vip_tag),
        lambda: vip_tag.members.remove(member),
        lambda: MemberEvent.objects.create(
            member=member, kind="purchase", occurred_at=timezone.now()
        ),
    ):
        with django_capture_on_commit_callbacks() as callbacks:
            change()
        assert len(callbacks) == 1


def test_a_menu_in_use_cannot_be_deleted_but_its_channel_can(channel, menus):
    from django.db.models import RestrictedError

    with pytest.raises(RestrictedError):
        menus["gold"].delete()
    channel.delete()
    assert not RichMenuRule.objects.exists()


def test_deleting_a_rule_queues_a_re_evaluation_after_commit(
    channel, menus, django_capture_on_commit_callbacks
):
    RichMenuRelink.objects.all().delete()
    with django_capture_on_commit_callbacks(execute=True):
        menus["gold_rule"].delete()
    assert RichMenuRelink.objects.filter(channel=channel, status="pending").count() == 1
