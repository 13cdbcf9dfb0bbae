import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.utils import translation

from campaigns.autoreplies import autoreply_for_text, autoreply_welcome
from campaigns.models import AutoReply, AutoReplyTrigger, MatchType
from tests.factories import ChannelFactory

pytestmark = pytest.mark.django_db
JST = dt.timezone(dt.timedelta(hours=9))
TEXT = [{"type": "text", "text": "ok"}]


def rule(channel, **fields):
    return AutoReply.objects.create(
        channel=channel,
        name=fields.pop("name", "r"),
        trigger=AutoReplyTrigger.KEYWORD,
        messages=TEXT,
        **fields,
    )


def test_match_types_and_priority():
    channel = ChannelFactory()
    exact = rule(channel, keywords="クーポン", match_type=MatchType.EXACT, priority=10)
    contains = rule(channel, keywords="hours", match_type=MatchType.CONTAINS, priority=20)
    regex = rule(channel, keywords=r"^order\s*#?\d{6}$", match_type=MatchType.REGEX, priority=30)
    noon = dt.datetime(2026, 11, 23, 12, 0, tzinfo=JST)

    assert autoreply_for_text(channel_id=channel.pk, text=" クーポン ", at=noon) == exact
    assert autoreply_for_text(channel_id=channel.pk, text="クーポンください", at=noon) is None
    assert autoreply_for_text(channel_id=channel.pk, text="Opening HOURS?", at=noon) == contains
    assert autoreply_for_text(channel_id=channel.pk, text="order #123456", at=noon) == regex
    assert autoreply_for_text(channel_id=channel.pk, text="order 12", at=noon) is None
    # Another channel's rules never answer.
    assert autoreply_for_text(channel_id=ChannelFactory().pk, text="クーポン", at=noon) is None


def test_active_hours_in_japan_time_including_a_window_past_midnight():
    channel = ChannelFactory()
    night = rule(
        channel,
        keywords="help",
        match_type=MatchType.EXACT,
        active_from=dt.time(22, 0),
        active_until=dt.time(6, 0),
    )

    def answer(hour):
        at = dt.datetime(2026, 11, 23, hour, 30, tzinfo=JST)
        return autoreply_for_text(channel_id=channel.pk, text="help", at=at)

    assert answer(23) == night and answer(2) == night
    assert answer(12) is None
    # 23:30 in Tokyo is 14:30 UTC: the window is Japan time whatever the server's zone.
    utc = dt.datetime(2026, 11, 23, 14, 30, tzinfo=dt.UTC)
    assert autoreply_for_text(channel_id=channel.pk, text="help", at=utc) == night


def test_inactive_rules_and_welcome_choice():
    channel = ChannelFactory()
    AutoReply.objects.create(
        channel=channel,
        name="old",
        trigger=AutoReplyTrigger.WELCOME,
        messages=TEXT,
        is_active=False,
        priority=1,
    )
    current = AutoReply.objects.create(
        channel=channel, name="new", trigger=AutoReplyTrigger.WELCOME, messages=TEXT, priority=5
    )

    assert autoreply_welcome(channel_id=channel.pk, at=dt.datetime.now(dt.UTC)) == current


@pytest.mark.parametrize(
    ("fields", "field", "says"),
    [
        ({"keywords": ""}, "keywords", "at least one keyword"),
        ({"keywords": "(unclosed", "match_type": MatchType.REGEX}, "keywords", "Line 1"),
        ({"keywords": "x", "active_from": dt.time(9)}, "active_until", "both ends"),
        ({"keywords": "x", "messages": [{"type": "text"}]}, "messages", "messages[0]"),
        ({"keywords": "x", "messages": []}, "messages", ""),
    ],
)
def test_invalid_rules_say_what_is_wrong(fields, field, says):
    candidate = AutoReply(
        channel=ChannelFactory(),
        name="bad",
        trigger=AutoReplyTrigger.KEYWORD,
        **{"messages": TEXT, **fields},
    )

    with translation.override("en"):
        with pytest.raises(ValidationError) as error:
            candidate.full_clean()

        assert field in error.value.message_dict
        assert says in " ".join(error.value.message_dict[field])
