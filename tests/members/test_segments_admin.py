"""Segment admin: saving validated rules, the live preview endpoint, CSV export permission."""

import csv
import io
import json

import pytest
from django.contrib.auth.models import Permission

from members.models import Member, Segment
from tests.factories import ChannelFactory, StaffFactory

pytestmark = pytest.mark.django_db

EN = {"accept-language": "en"}


def rules(*conditions, op="and"):
    return {"version": 1, "root": {"type": "group", "op": op, "rules": list(conditions)}}


@pytest.fixture
def channel():
    channel = ChannelFactory()
    for index, (rank, name) in enumerate(
        [("gold", "Hanako"), ("gold", "=cmd|' /C calc'!A0"), ("regular", "Taro")]
    ):
        Member.objects.create(
            channel=channel,
            line_user_id="U" + f"{index:032x}",
            display_name=name,
            rank=rank,
            friend_status="friend",
        )
    return channel


def preview(client, channel, definition, segment=None):
    return client.post(
        "/admin/members/segment/preview/",
        json.dumps({"channel": channel.pk, "definition": definition, "segment": segment}),
        content_type="application/json",
        headers=EN,
    )


def test_preview_answers_count_sample_and_summary(admin_client, channel):
    answer = preview(admin_client, channel, rules({"type": "rank", "values": ["gold"]})).json()
    assert answer["count"] == 2
    assert answer["countText"] == "2 members match"
    assert answer["summary"] == "Members with rank Gold"
    assert {member["name"] for member in answer["sample"]} == {"Hanako", "=cmd|' /C calc'!A0"}
    assert answer["sample"][0]["url"].startswith("/admin/members/member/")


def test_preview_names_the_bad_rule(admin_client, channel):
    response = preview(
        admin_client,
        channel,
        rules(
            {"type": "rank", "values": ["gold"]},
            {"type": "group", "op": "or", "rules": [{"type": "points", "op": "gte", "value": ""}]},
        ),
    )
    assert response.status_code == 400
    assert response.json()["errors"] == [
        "root.rules[1].rules[0]: points comparison needs a whole number"
    ]


def test_preview_refuses_a_cycle_through_the_segment_being_edited(admin_client, channel):
    a = Segment.objects.create(channel=channel, name="A", definition=rules())
    b = Segment.objects.create(
        channel=channel, name="B", definition=rules({"type": "segment", "segment": a.pk})
    )
    response = preview(
        admin_client, channel, rules({"type": "segment", "segment": b.pk}), segment=a.pk
    )
    assert response.json()["errors"] == [
        "root.rules[0]: segments cannot include themselves: “A” → “B” → “A”"
    ]


def test_preview_needs_a_staff_member_who_may_edit_segments(client, channel):
    client.force_login(StaffFactory())
    assert preview(client, channel, rules()).status_code == 403


def test_saving_in_the_admin_validates_and_counts(admin_client, channel):
    form = {
        "channel": channel.pk,
        "name": "Gold friends",
        "description": "",
        "definition": json.dumps(rules({"type": "points", "op": "gte", "value": "lots"})),
    }
    response = admin_client.post("/admin/members/segment/add/", form, headers=EN)
    assert response.status_code == 200
    assert "root.rules[0]: points comparison needs a whole number" in response.content.decode()
    assert not Segment.objects.exists()

    form["definition"] = json.dumps(rules({"type": "rank", "values": ["gold"]}))
    response = admin_client.post("/admin/members/segment/add/", form, headers=EN)
    assert response.status_code == 302
    segment = Segment.objects.get()
    assert segment.last_count == 2
    listing = admin_client.get("/admin/members/segment/", headers=EN).content.decode()
    assert "Members with rank Gold" in listing

    page = admin_client.get(f"/admin/members/segment/{segment.pk}/change/", headers=EN)
    html = page.content.decode()
    assert 'id="segment-builder-options"' in html
    assert "segment_builder.js" in html
    assert f"/admin/members/segment/{segment.pk}/export/" in html


def test_export_is_a_csv_of_the_members_safe_for_spreadsheets(admin_client, channel):
    segment = Segment.objects.create(
        channel=channel, name="Gold", definition=rules({"type": "rank", "values": ["gold"]})
    )
    response = admin_client.get(f"/admin/members/segment/{segment.pk}/export/", headers=EN)
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert "attachment" in response["Content-Disposition"]
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0][:3] == ["LINE user ID", "display name", "customer ID"]
    assert sorted(row[1] for row in rows[1:]) == ["'=cmd|' /C calc'!A0", "Hanako"]


def test_export_needs_the_export_permission(client, channel):
    segment = Segment.objects.create(channel=channel, name="Gold", definition=rules())
    viewer = StaffFactory()
    viewer.user_permissions.add(Permission.objects.get(codename="view_segment"))
    client.force_login(viewer)
    url = f"/admin/members/segment/{segment.pk}/export/"
    assert client.get(f"/admin/members/segment/{segment.pk}/change/").status_code == 200
    assert client.get(url).status_code == 403
    assert url not in client.get(f"/admin/members/segment/{segment.pk}/change/").content.decode()

    viewer.user_permissions.add(Permission.objects.get(codename="export_segment"))
    client.force_login(viewer)
    assert client.get(url).status_code == 200


def test_marketing_staff_may_export(client, channel):
    segment = Segment.objects.create(channel=channel, name="Gold", definition=rules())
    client.force_login(StaffFactory(role="Marketing staff"))
    assert client.get(f"/admin/members/segment/{segment.pk}/export/").status_code == 200


def test_support_agents_may_not_export(client, channel):
    segment = Segment.objects.create(channel=channel, name="Gold", definition=rules())
    client.force_login(StaffFactory(role="Support agents"))
    assert client.get(f"/admin/members/segment/{segment.pk}/export/").status_code == 403


def test_a_segment_or_audience_other_segments_use_cannot_be_deleted(admin_client, channel):
    from members.models import Audience

    golds = Segment.objects.create(
        channel=channel, name="Golds", definition=rules({"type": "rank", "values": ["gold"]})
    )
    listed = Audience.objects.create(channel=channel, name="List", kind="customer_id")
    Segment.objects.create(
        channel=channel,
        name="Golds on the list",
        definition=rules(
            {"type": "segment", "segment": golds.pk},
            {"type": "audience", "audience": listed.pk},
        ),
    )
    for url in (
        f"/admin/members/segment/{golds.pk}/delete/",
        f"/admin/members/audience/{listed.pk}/delete/",
    ):
        page = admin_client.get(url, headers=EN).content.decode()
        assert "Used in the rules of segment: Golds on the list" in page
        admin_client.post(url, {"post": "yes"}, headers=EN)
    assert Segment.objects.filter(pk=golds.pk).exists()
    assert Audience.objects.filter(pk=listed.pk).exists()
