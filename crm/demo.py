"""Demo data for the run command: staff users per role, a sandbox channel, friends chatting.

Idempotent: running it again keeps what exists. Passwords are generated once per checkout and
kept in ``var/demo-credentials.json`` (never committed), so the printed login stays valid.
"""

import json
import secrets
import struct
import time
import zlib
from dataclasses import dataclass

from allauth.socialaccount.models import SocialApp
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.contrib.sites.models import Site
from django.core.exceptions import ImproperlyConfigured
from django.core.files.base import ContentFile
from django.db import transaction

from campaigns.delivery import campaign_send
from campaigns.flex_library import starter_get
from campaigns.models import AutoReply, AutoReplyTrigger, Campaign, MatchType, MessageTemplate
from crm import roles
from integrations.demo import demo_integration, demo_shop_reports
from linebot.channels import channel_upsert
from linebot.models import Channel, Platform, RichMenu
from linebot.richmenus import SIZES, layout_areas, rich_menu_sync, rich_menus_repair
from linebot.sandbox_sync import sandbox_channel_register, sandbox_control
from members.linking import link_rate_snapshot, member_link
from members.models import (
    FriendStatus,
    LinkMethod,
    Member,
    Prefecture,
    Rank,
    RichMenuRule,
    Segment,
)
from members.receivers import ACCOUNT_LINK_POSTBACK
from members.richmenus import relink_start

DEMO_CHANNEL_ID = "2000000001"
DEMO_LOGIN_CHANNEL_ID = "2000000002"


@dataclass(frozen=True)
class DemoLogin:
    username: str
    password: str
    role: str


def _credentials() -> dict[str, str]:
    path = settings.VAR_DIR / "demo-credentials.json"
    if path.exists():
        return json.loads(path.read_text())
    credentials = {
        "channel_secret": secrets.token_hex(16),
        "access_token": secrets.token_urlsafe(32),
        "login_secret": secrets.token_hex(16),
        **{name: secrets.token_urlsafe(9) for name in ("admin", "marketer", "agent", "hanako")},
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(credentials, indent=2))
    path.chmod(0o600)
    return credentials


@transaction.atomic
def demo_setup() -> tuple[list[DemoLogin], Channel]:
    if settings.PRODUCTION:
        raise ImproperlyConfigured("Demo data is for development only (CRM_ENV=production).")
    credentials = _credentials()
    roles.roles_sync()
    logins = []
    User = get_user_model()
    for username, role in (
        ("admin", roles.ADMINISTRATORS),
        ("marketer", roles.MARKETING),
        ("agent", roles.SUPPORT),
    ):
        user, created = User.objects.get_or_create(
            username=username, defaults={"is_staff": True, "email": f"{username}@example.com"}
        )
        if created:
            user.set_password(credentials[username])
            user.is_superuser = role == roles.ADMINISTRATORS
            user.save()
            user.groups.add(Group.objects.get(name=role))
        logins.append(DemoLogin(username, credentials[username], role))
    login_app, _created = SocialApp.objects.get_or_create(
        provider="line",
        client_id=DEMO_LOGIN_CHANNEL_ID,
        defaults={"name": "Demo Shop LINE Login", "secret": credentials["login_secret"]},
    )
    login_app.sites.add(Site.objects.get_current())
    channel, _created = channel_upsert(
        channel_id=DEMO_CHANNEL_ID,
        name="Demo Shop",
        channel_secret=credentials["channel_secret"],
        access_token=credentials["access_token"],
        bot_basic_id="@demoshop",
        platform=Platform.SANDBOX,
        login_app=login_app,
    )
    customer, created = User.objects.get_or_create(
        username="hanako", defaults={"email": "hanako@example.com"}
    )
    if created:
        customer.set_password(credentials["hanako"])
        customer.save()
    logins.append(DemoLogin("hanako", credentials["hanako"], "Member (site customer)"))
    demo_integration(channel)
    return logins, channel


DEMO_USERS = [
    {"displayName": "佐藤 花子", "language": "ja", "rank": Rank.GOLD, "points": 1280},
    {"displayName": "鈴木 一郎", "language": "ja", "rank": Rank.SILVER, "points": 420},
    {"displayName": "Emily Tanaka", "language": "en", "rank": Rank.REGULAR, "points": 35},
    {"displayName": "高橋 健", "language": "ja", "rank": Rank.PLATINUM, "points": 5400},
]


def demo_auto_replies(channel: Channel) -> None:
    AutoReply.objects.get_or_create(
        channel=channel,
        name="友だち追加のあいさつ",
        defaults={
            "trigger": AutoReplyTrigger.WELCOME,
            "messages": [
                {
                    "type": "text",
                    "text": "Demo Shop を友だち追加いただきありがとうございます！\n"
                    "「営業時間」と送ると営業時間をお知らせします。",
                },
                {"type": "sticker", "packageId": "446", "stickerId": "1988"},
            ],
        },
    )
    AutoReply.objects.get_or_create(
        channel=channel,
        name="営業時間",
        defaults={
            "trigger": AutoReplyTrigger.KEYWORD,
            "match_type": MatchType.CONTAINS,
            "keywords": "営業時間\nopening hours",
            "messages": [{"type": "text", "text": "営業時間は 10:00〜20:00 です（年中無休）。"}],
        },
    )


def demo_welcome_sequence(channel: Channel) -> None:
    """A step sequence for new friends: the next day at 10:00, then a coupon three days later."""
    import datetime as dt

    from journeys.models import DelayUnit, Sequence, SequenceTrigger, Step
    from members.models import EventKind

    sequence, created = Sequence.objects.get_or_create(
        channel=channel,
        name="新しいお友だちへのステップ配信",
        defaults={"trigger": SequenceTrigger.FOLLOW, "exit_event_kind": EventKind.PURCHASE},
    )
    if not created:
        return
    steps = [
        (1, DelayUnit.DAYS_AT, dt.time(10, 0), "{{ member.display_name }}さん、人気の商品です。"),
        (3, DelayUnit.DAYS, None, "はじめてのお買い物に使える 10% OFF クーポンです：WELCOME10"),
    ]
    for position, (value, unit, at_time, words) in enumerate(steps, start=1):
        template = MessageTemplate.objects.create(
            name=f"ステップ {position}", channel=channel, messages=[{"type": "text", "text": words}]
        )
        Step.objects.create(
            sequence=sequence,
            position=position,
            delay_value=value,
            delay_unit=unit,
            at_time=at_time,
            template=template,
        )


def demo_conversations() -> str:
    """Play the demo friends through the sandbox: real webhooks, handled by the worker.

    Only on the first run (no members yet): the sandbox forgets its users when it stops, the
    database keeps the members and their conversations.
    """
    channel = Channel.objects.get(channel_id=DEMO_CHANNEL_ID)
    control = sandbox_control()
    sandbox_channel_register(channel, control=control)
    if Member.objects.filter(channel=channel).exists():
        # The sandbox forgot its rich menus when it stopped: create them there again.
        rich_menus_repair(channel)
        return "Demo conversations were played before; the members are in the admin."
    demo_auto_replies(channel)
    demo_welcome_sequence(channel)
    cid = channel.channel_id
    user_ids = []
    for profile in DEMO_USERS:
        answer = control.user_create(
            cid, follow=True, displayName=profile["displayName"], language=profile["language"]
        )
        user_ids.append(answer["user"]["userId"])
    hanako, ichiro, emily, ken = user_ids
    control.send_text(cid, hanako, "営業時間を教えてください")
    control.send_sticker(cid, ichiro, "446", "1989")
    control.send_text(cid, ichiro, "先週買ったスニーカーのサイズ交換はできますか？")
    control.send_text(cid, emily, "What are your opening hours?")
    control.send_location(
        cid, ken, title="渋谷店", address="東京都渋谷区", latitude=35.658, longitude=139.7016
    )
    # First-party data the company's systems would send (more through the REST API below).
    deadline = time.monotonic() + 30
    while Member.objects.filter(channel=channel).exclude(display_name="").count() < len(user_ids):
        if time.monotonic() > deadline:
            return "The worker did not handle the demo webhooks; is it running?"
        time.sleep(0.5)
    for user_id, profile in zip(user_ids, DEMO_USERS, strict=True):
        Member.objects.filter(channel=channel, line_user_id=user_id).update(
            rank=profile["rank"], points=profile["points"], prefecture=Prefecture.TOKYO
        )
    control.block(cid, ken)
    while not Member.objects.filter(line_user_id=ken, friend_status=FriendStatus.BLOCKED).exists():
        if time.monotonic() > deadline:
            return "The worker did not handle the demo webhooks; is it running?"
        time.sleep(0.5)
    # Hanako is also a site customer: link her the way a signed link URL would.
    member_link(
        member=Member.objects.get(channel=channel, line_user_id=hanako),
        user=get_user_model().objects.get(username="hanako"),
        method=LinkMethod.SIGNED_URL,
    )
    link_rate_snapshot()
    demo_shop_reports(channel, user_ids)
    demo_marketing(channel)
    return f"Played demo conversations for {len(user_ids)} friends of {channel.name}."


GOLD_SEGMENT = {
    "version": 1,
    "root": {
        "type": "group",
        "op": "and",
        "rules": [
            {"type": "rank", "values": [Rank.GOLD, Rank.PLATINUM]},
            {"type": "friend_status", "values": [FriendStatus.FRIEND]},
        ],
    },
}


def _png(width: int, height: int, rgb: tuple[int, int, int], columns: int) -> bytes:
    """A plain rich-menu image: a colour with lighter lines between the columns."""
    line = bytearray()
    for x in range(width):
        edge = columns > 1 and x % (width // columns) < 8 and x > 8
        line += bytes(min(255, c + 60) for c in rgb) if edge else bytes(rgb)
    rows = b"".join(b"\x00" + bytes(line) for _ in range(height))

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows, 9))
        + chunk(b"IEND", b"")
    )


def _demo_menu(channel: Channel, *, name: str, rgb, chat_bar: str) -> RichMenu:
    width, height = SIZES["compact"]
    areas = layout_areas("compact_3", width=width, height=height)
    areas[0]["action"] = {"type": "message", "label": "営業時間", "text": "営業時間"}
    areas[1]["action"] = {"type": "postback", "label": "ID連携", "data": ACCOUNT_LINK_POSTBACK}
    areas[2]["action"] = {"type": "uri", "label": "ショップ", "uri": "https://example.com/shop"}
    menu = RichMenu(
        channel=channel, name=name, chat_bar_text=chat_bar, width=width, height=height, areas=areas
    )
    menu.image.save(f"{name}.png", ContentFile(_png(width, height, rgb, 3)), save=False)
    menu.image_content_type = "image/png"
    menu.save()
    return menu


def demo_marketing(channel: Channel) -> None:
    """A segment, a coupon template sent to it as a campaign, and a rich menu per segment."""
    gold, _created = Segment.objects.get_or_create(
        channel=channel,
        name="ゴールド以上の友だち",
        defaults={"definition": GOLD_SEGMENT, "description": "Gold and Platinum friends"},
    )
    starter = starter_get("coupon")
    coupon, _created = MessageTemplate.objects.get_or_create(
        name="ゴールド会員クーポン",
        defaults={"channel": channel, "messages": [starter.message]},
    )
    if not Campaign.objects.filter(channel=channel).exists():
        campaign = Campaign.objects.create(
            channel=channel, name="ゴールド会員限定クーポン", template=coupon
        )
        campaign.segments.add(gold)
        campaign_send(campaign)
    if RichMenu.objects.filter(channel=channel).exists():
        return
    everyone = _demo_menu(channel, name="standard", rgb=(6, 150, 85), chat_bar="メニュー")
    premium = _demo_menu(channel, name="gold", rgb=(180, 140, 40), chat_bar="ゴールド会員メニュー")
    for menu in (everyone, premium):
        rich_menu_sync(menu)
    RichMenuRule.objects.create(channel=channel, priority=10, segment=gold, rich_menu=premium)
    RichMenuRule.objects.create(channel=channel, priority=100, segment=None, rich_menu=everyone)
    relink_start(channel)
