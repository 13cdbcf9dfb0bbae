"""Tracked links: every kind of URI action in LINE messages goes through our redirect, the
redirect counts real clicks (not previews) and leads only to stored destinations."""

import itertools

import pytest
from django.db import IntegrityError, transaction

from members.models import LinkClick, Member, MessageSource, TrackedLink
from members.tracking import (
    has_trackable_links,
    link_click_counts,
    track_links,
)
from tests.factories import ChannelFactory

pytestmark = pytest.mark.django_db

SITE = "https://crm.example.jp"
_serial = itertools.count(1)


@pytest.fixture(autouse=True)
def site_url(settings):
    settings.SITE_URL = SITE


def member(channel, name="Aiko"):
    return Member.objects.create(
        channel=channel, line_user_id="U" + f"{next(_serial):032x}", display_name=name
    )


def uri(url, label="Open", **extra):
    return {"type": "uri", "label": label, "uri": url, **extra}


MESSAGES = [
    {
        "type": "text",
        "text": "Sale! https://shop.example.jp/plain stays as typed",
        "quickReply": {
            "items": [
                {"type": "action", "action": uri("https://shop.example.jp/sale")},
                {"type": "action", "action": {"type": "postback", "label": "Yes", "data": "a=1"}},
                {"type": "action", "action": uri("tel:0312345678", "Call")},
            ]
        },
    },
    {
        "type": "template",
        "altText": "Coupon",
        "template": {
            "type": "buttons",
            "text": "Your coupon",
            "defaultAction": uri("https://shop.example.jp/coupon"),
            "actions": [
                uri("https://shop.example.jp/coupon"),
                {"type": "message", "label": "Thanks", "text": "Thanks"},
                uri("line://nv/profile", "Profile"),
            ],
        },
    },
    {
        "type": "template",
        "altText": "Carousel",
        "template": {
            "type": "carousel",
            "columns": [
                {
                    "text": "A",
                    "defaultAction": uri("https://shop.example.jp/a"),
                    "actions": [uri("https://shop.example.jp/a?utm=line")],
                }
            ],
        },
    },
    {
        "type": "imagemap",
        "baseUrl": "https://cdn.example.jp/imagemap",
        "altText": "Map",
        "baseSize": {"width": 1040, "height": 1040},
        "video": {
            "originalContentUrl": "https://cdn.example.jp/v.mp4",
            "previewImageUrl": "https://cdn.example.jp/v.jpg",
            "area": {"x": 0, "y": 0, "width": 1040, "height": 585},
            "externalLink": {"linkUri": "https://shop.example.jp/video", "label": "More"},
        },
        "actions": [
            {
                "type": "uri",
                "linkUri": "https://shop.example.jp/map",
                "area": {"x": 0, "y": 0, "width": 520, "height": 1040},
            },
            {
                "type": "message",
                "text": "hello",
                "area": {"x": 520, "y": 0, "width": 520, "height": 1040},
            },
        ],
    },
    {
        "type": "flex",
        "altText": "Flex",
        "contents": {
            "type": "bubble",
            "hero": {
                "type": "image",
                "url": "https://cdn.example.jp/hero.jpg",
                "action": uri("https://shop.example.jp/hero"),
            },
            "body": {
                "type": "box",
                "layout": "vertical",
                "action": uri(
                    "https://shop.example.jp/box",
                    altUri={"desktop": "https://shop.example.jp/box-desktop"},
                ),
                "contents": [
                    {
                        "type": "button",
                        "action": uri("HTTP://shop.example.jp/upper"),
                    },
                    {"type": "text", "text": "hi"},
                ],
            },
        },
    },
]


def destinations(link_urls):
    tokens = [u.rsplit("/", 1)[1] for u in link_urls]
    found = dict(TrackedLink.objects.filter(token__in=tokens).values_list("token", "url"))
    return [found[t] for t in tokens]


def test_every_kind_of_uri_action_goes_through_the_redirect():
    channel = ChannelFactory()
    who = member(channel)
    tracked = track_links(MESSAGES, source=MessageSource.CAMPAIGN, source_id=7, member=who)

    quick = tracked[0]["quickReply"]["items"]
    buttons = tracked[1]["template"]
    column = tracked[2]["template"]["columns"][0]
    imagemap = tracked[3]
    bubble = tracked[4]["contents"]
    rewritten = [
        quick[0]["action"]["uri"],
        buttons["defaultAction"]["uri"],
        buttons["actions"][0]["uri"],
        column["defaultAction"]["uri"],
        column["actions"][0]["uri"],
        imagemap["video"]["externalLink"]["linkUri"],
        imagemap["actions"][0]["linkUri"],
        bubble["hero"]["action"]["uri"],
        bubble["body"]["action"]["uri"],
        bubble["body"]["action"]["altUri"]["desktop"],
        bubble["body"]["contents"][0]["action"]["uri"],
    ]
    assert all(u.startswith(f"{SITE}/l/") and len(u) <= 1000 for u in rewritten)
    assert destinations(rewritten) == [
        "https://shop.example.jp/sale",
        "https://shop.example.jp/coupon",
        "https://shop.example.jp/coupon",
        "https://shop.example.jp/a",
        "https://shop.example.jp/a?utm=line",
        "https://shop.example.jp/video",
        "https://shop.example.jp/map",
        "https://shop.example.jp/hero",
        "https://shop.example.jp/box",
        "https://shop.example.jp/box-desktop",
        "HTTP://shop.example.jp/upper",
    ]
    # The same destination twice in one send is one link.
    assert buttons["defaultAction"]["uri"] == buttons["actions"][0]["uri"]
    # Everything else is untouched: non-web actions, images, plain text, the input itself.
    assert tracked[0]["text"] == MESSAGES[0]["text"]
    assert quick[1]["action"] == {"type": "postback", "label": "Yes", "data": "a=1"}
    assert quick[2]["action"]["uri"] == "tel:0312345678"
    assert buttons["actions"][2]["uri"] == "line://nv/profile"
    assert bubble["hero"]["url"] == "https://cdn.example.jp/hero.jpg"
    assert imagemap["baseUrl"] == "https://cdn.example.jp/imagemap"
    assert imagemap["video"]["originalContentUrl"] == "https://cdn.example.jp/v.mp4"
    assert MESSAGES[0]["quickReply"]["items"][0]["action"]["uri"] == "https://shop.example.jp/sale"
    assert set(TrackedLink.objects.values_list("member", "source", "source_id").distinct()) == {
        (who.pk, "campaign", 7)
    }


def test_sending_again_reuses_links_per_member_and_source():
    channel = ChannelFactory()
    aiko, ben = member(channel, "Aiko"), member(channel, "Ben")
    message = [
        {
            "type": "template",
            "altText": "x",
            "template": {
                "type": "buttons",
                "text": "x",
                "actions": [uri("https://shop.example.jp/")],
            },
        }
    ]

    def link(**kwargs):
        return track_links(message, **kwargs)[0]["template"]["actions"][0]["uri"]

    first = link(source="campaign", source_id=1, member=aiko)
    assert link(source="campaign", source_id=1, member=aiko) == first
    assert link(source="campaign", source_id=1, member=ben) != first
    assert link(source="campaign", source_id=2, member=aiko) != first
    shared = link(source="campaign", source_id=1)
    assert link(source="campaign", source_id=1) == shared != first
    assert TrackedLink.objects.count() == 4


def test_has_trackable_links():
    assert has_trackable_links(MESSAGES)
    assert not has_trackable_links([{"type": "text", "text": "https://shop.example.jp/"}])
    tracked = track_links(MESSAGES, source="campaign", source_id=3)
    assert not has_trackable_links(tracked)
    # Tracking twice does not wrap our own redirect again.
    assert track_links(tracked, source="campaign", source_id=3) == tracked


def test_a_destination_too_long_to_store_is_refused_naming_where():
    message = [
        {
            "type": "text",
            "text": "x",
            "quickReply": {
                "items": [
                    {"type": "action", "action": uri("https://shop.example.jp/" + "a" * 5000)}
                ]
            },
        }
    ]
    with pytest.raises(ValueError, match=r"messages\[0\]\.quickReply\.items\[0\]\.action\.uri"):
        track_links(message, source="campaign", source_id=1)
    assert not TrackedLink.objects.exists()


def tracked_url(message_uri, **kwargs):
    message = [
        {
            "type": "template",
            "altText": "x",
            "template": {"type": "buttons", "text": "x", "actions": [uri(message_uri)]},
        }
    ]
    full = track_links(message, **kwargs)[0]["template"]["actions"][0]["uri"]
    return full.removeprefix(SITE)


def test_the_redirect_counts_the_click_for_the_member_and_redirects(client):
    channel = ChannelFactory()
    aiko = member(channel)
    path = tracked_url(
        "https://shop.example.jp/sale?x=1", source="campaign", source_id=5, member=aiko
    )

    response = client.get(path, HTTP_USER_AGENT="Mozilla/5.0 (iPhone) Line/14.0")

    assert response.status_code == 302
    assert response["Location"] == "https://shop.example.jp/sale?x=1"
    assert "no-store" in response["Cache-Control"]
    click = LinkClick.objects.get()
    assert (click.member, click.source, click.source_id, click.url) == (
        aiko,
        "campaign",
        5,
        "https://shop.example.jp/sale?x=1",
    )
    client.get(path)
    assert link_click_counts(source="campaign", source_ids=[5, 6]) == {
        5: {"clicks": 2, "members": 1}
    }


def test_a_shared_link_counts_clicks_without_a_member(client):
    path = tracked_url("https://shop.example.jp/", source="step", source_id=2)
    assert client.get(path).status_code == 302
    assert LinkClick.objects.get().member is None


def test_previews_and_prefetches_redirect_without_counting(client):
    path = tracked_url("https://shop.example.jp/", source="campaign", source_id=5)
    assert client.head(path).status_code == 302
    preview = client.get(path, HTTP_USER_AGENT="facebookexternalhit/1.1;line-poker/1.0")
    assert preview.status_code == 302
    assert client.get(path, HTTP_SEC_PURPOSE="prefetch").status_code == 302
    assert client.get(path, HTTP_USER_AGENT="Slackbot-LinkExpanding 1.0").status_code == 302
    assert not LinkClick.objects.exists()
    assert client.post(path).status_code == 405


def test_unknown_tokens_are_404_and_nothing_else_can_be_a_destination(client):
    assert client.get("/l/notatoken123456").status_code == 404
    assert client.get("/l/https:%2F%2Fevil.example").status_code == 404
    assert client.get("/l/?url=https://evil.example").status_code == 404
    assert not LinkClick.objects.exists()


def test_staff_see_links_and_clicks_read_only_in_the_admin(client, admin_client):
    channel = ChannelFactory()
    aiko = member(channel)
    path = tracked_url("https://shop.example.jp/sale", source="campaign", source_id=5, member=aiko)
    client.get(path)
    client.get(path)

    links = admin_client.get("/admin/members/trackedlink/")
    assert links.status_code == 200
    assert "https://shop.example.jp/sale" in links.content.decode()
    assert '<td class="field-click_count">2</td>' in links.content.decode()
    clicks = admin_client.get("/admin/members/linkclick/")
    assert clicks.status_code == 200
    assert clicks.content.decode().count("https://shop.example.jp/sale") >= 2
    assert admin_client.get("/admin/members/linkclick/add/").status_code == 403


def test_a_site_url_too_long_for_line_is_refused(settings):
    settings.SITE_URL = "https://crm.example.jp/" + "a" * 1000
    with pytest.raises(ValueError, match=r"messages\[0\]\.template\.defaultAction\.uri.*1000"):
        track_links(MESSAGES[1:2], source="campaign", source_id=1)
    assert not TrackedLink.objects.exists()


def test_the_database_keeps_one_link_per_source_member_and_url():
    TrackedLink.objects.create(url="https://shop.example.jp/", source="campaign", source_id=1)
    with pytest.raises(IntegrityError), transaction.atomic():
        TrackedLink.objects.create(url="https://shop.example.jp/", source="campaign", source_id=1)
    assert TrackedLink.objects.count() == 1
