"""The "clicked a link in campaign C" segment condition, fed by real clicks on tracked links."""

import datetime as dt
import itertools

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone, translation

from members.models import LinkClick, Member, MessageSource, Segment
from members.segments import (
    segment_contains,
    segment_count,
    segment_queryset,
    segment_summary,
    segment_validate,
)
from members.tracking import track_links
from tests.factories import ChannelFactory

pytestmark = pytest.mark.django_db

_serial = itertools.count(1)


@pytest.fixture(autouse=True)
def english():
    with translation.override("en"):
        yield


def member(channel, name):
    return Member.objects.create(
        channel=channel, line_user_id="U" + f"{next(_serial):032x}", display_name=name
    )


def rules(*conditions):
    return {"version": 1, "root": {"type": "group", "op": "and", "rules": list(conditions)}}


def names(channel, *conditions):
    """Names of the members matching, checked against segment_contains for every member."""
    definition = rules(*conditions)
    segment_validate(definition, channel=channel)
    seg = Segment.objects.create(channel=channel, name=f"s{next(_serial)}", definition=definition)
    found = set(segment_queryset(seg).values_list("display_name", flat=True))
    assert segment_count(seg) == len(found)
    for each in Member.objects.filter(channel=channel):
        assert segment_contains(seg, each) == (each.display_name in found), each
    return found


def click(client, who, campaign, *, days_ago=0, source=MessageSource.CAMPAIGN):
    """The member taps the button of a campaign message they were sent."""
    message = {
        "type": "template",
        "altText": "Sale",
        "template": {
            "type": "buttons",
            "text": "Sale",
            "actions": [{"type": "uri", "label": "Shop", "uri": "https://shop.example.jp/"}],
        },
    }
    [tracked] = track_links([message], source=source, source_id=campaign, member=who)
    response = client.get(tracked["template"]["actions"][0]["uri"])
    assert response.status_code == 302
    if days_ago:
        LinkClick.objects.filter(pk=LinkClick.objects.latest("pk").pk).update(
            clicked_at=timezone.now() - dt.timedelta(days=days_ago)
        )


def test_clicked_in_a_campaign_any_campaign_within_days_and_not(client):
    channel = ChannelFactory()
    aiko, ben, chika, _daichi = (member(channel, n) for n in ("aiko", "ben", "chika", "daichi"))
    click(client, aiko, 7)
    click(client, ben, 7, days_ago=40)
    click(client, chika, 8)
    click(client, _daichi, 7, source=MessageSource.STEP)  # a step's link is not a campaign's

    assert names(channel, {"type": "clicked", "campaign": 7, "days": 0}) == {"aiko", "ben"}
    assert names(channel, {"type": "clicked", "campaign": 7, "days": 30}) == {"aiko"}
    assert names(channel, {"type": "clicked", "campaign": None, "days": 30}) == {"aiko", "chika"}
    assert names(channel, {"type": "clicked", "campaign": "", "days": 0}) == {
        "aiko",
        "ben",
        "chika",
    }
    assert names(channel, {"type": "clicked", "campaign": 7, "days": 30, "happened": False}) == {
        "ben",
        "chika",
        "daichi",
    }


def test_summary_of_clicks():
    assert segment_summary(rules({"type": "clicked", "campaign": 7, "days": 30})) == (
        "Members who clicked a link in campaign #7 in the last 30 days"
    )
    assert segment_summary(
        rules({"type": "clicked", "campaign": None, "days": 0, "happened": False})
    ) == ("Members who clicked no link in any campaign ever")


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        (
            {"type": "clicked", "campaign": "seven", "days": 0},
            "root.rules[0]: clicked needs a campaign ID, or none for any campaign",
        ),
        (
            {"type": "clicked", "campaign": 7, "days": -1},
            "root.rules[0]: number of days must be 0 (ever) to 3650",
        ),
        (
            {"type": "clicked", "campaign": 7, "days": 0, "happened": "yes"},
            "root.rules[0]: happened must be true or false",
        ),
    ],
)
def test_invalid_click_rules_are_refused_naming_the_rule(rule, message):
    with pytest.raises(ValidationError) as error:
        segment_validate(rules(rule))
    assert error.value.messages == [message]
