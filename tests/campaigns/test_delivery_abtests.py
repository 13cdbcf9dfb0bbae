"""A/B tests: variants and a holdout, reproducible by campaign and member; clicks per variant."""

from urllib.parse import urlsplit

from django.test import Client
from django.urls import reverse

from campaigns.abtests import HOLDOUT, Splitter, ab_bucket, ab_results
from campaigns.delivery import campaign_send
from campaigns.models import CampaignVariant, Delivery, MessageTemplate, SkipReason
from members.models import LinkClick, Member
from tests.campaigns.test_delivery import campaign_for, finished, friends, received


def offer(letter):
    return [
        {
            "type": "template",
            "altText": f"Offer {letter}",
            "template": {
                "type": "buttons",
                "text": f"Offer {letter}",
                "actions": [
                    {"type": "uri", "label": "See", "uri": f"https://shop.example.com/{letter}"}
                ],
            },
        }
    ]


def variants(campaign, *letters):
    for letter in letters:
        template = MessageTemplate.objects.create(
            name=letter, channel=campaign.channel, messages=offer(letter)
        )
        CampaignVariant.objects.create(campaign=campaign, name=letter, template=template, weight=50)


def test_the_split_is_reproducible_and_follows_the_percentages(line_app):
    user_ids = friends(line_app, 200)
    campaign = campaign_for(line_app.channel, offer("default"), holdout_percent=20)
    variants(campaign, "A", "B")

    campaign_send(campaign)
    campaign = finished(campaign)

    members = dict(
        Member.objects.filter(channel=line_app.channel).values_list("line_user_id", "pk")
    )
    # Anyone can recompute a member's arm from the campaign id and member id alone.
    splitter = Splitter(campaign)
    names = dict(CampaignVariant.objects.values_list("pk", "name"))
    got = {"A": 0, "B": 0, HOLDOUT: 0}
    for user_id in user_ids:
        arm = splitter.assign(members[user_id])
        texts = [m["message"]["altText"] for m in received(line_app, user_id)]
        if arm == HOLDOUT:
            assert texts == []
            got[HOLDOUT] += 1
        else:
            assert texts == [f"Offer {names[arm]}"]
            got[names[arm]] += 1
    assert 20 <= got[HOLDOUT] <= 60 and got["A"] >= 50 and got["B"] >= 50
    assert ab_bucket(campaign.pk, 1) == ab_bucket(campaign.pk, 1) != ab_bucket(campaign.pk + 1, 1)
    held = Delivery.objects.filter(campaign=campaign, reason=SkipReason.HOLDOUT)
    assert held.count() == got[HOLDOUT]
    results = {row.name: row for row in ab_results(campaign)}
    assert (results["A"].sent, results["B"].sent) == (got["A"], got["B"])
    assert results[str(SkipReason.HOLDOUT.label)].members == got[HOLDOUT]


def test_tracked_clicks_are_counted_per_variant(line_app, admin_client):
    admin_client.cookies["django_language"] = "en"
    user_ids = friends(line_app, 20)
    campaign = campaign_for(line_app.channel, offer("default"), track_clicks=True)
    variants(campaign, "A", "B")

    campaign_send(campaign)
    campaign = finished(campaign)
    assert campaign.sent_count == 20

    # Each member's link is their own; three members of variant A tap theirs (one twice).
    by_variant = {"A": [], "B": []}
    for user_id in user_ids:
        (message,) = received(line_app, user_id)
        uri = message["message"]["template"]["actions"][0]["uri"]
        by_variant[message["message"]["altText"][-1]].append(uri)
    assert len({*by_variant["A"], *by_variant["B"]}) == 20
    browser = Client(HTTP_USER_AGENT="Mozilla/5.0 (iPhone) Line/14.0")
    for uri in [*by_variant["A"][:3], by_variant["A"][0]]:
        response = browser.get(urlsplit(uri).path)
        assert response.status_code == 302
        assert response["Location"] == "https://shop.example.com/A"

    assert LinkClick.objects.filter(source="campaign", source_id=campaign.pk).count() == 4
    results = {row.name: row for row in ab_results(campaign)}
    assert (results["A"].clicks, results["A"].clickers) == (4, 3)
    assert (results["B"].clicks, results["B"].clickers) == (0, 0)
    page = admin_client.get(reverse("admin:campaigns_campaign_change", args=[campaign.pk]))
    assert b'data-variant="A"' in page.content
