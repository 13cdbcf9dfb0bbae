import pytest

from members.models import FriendStatus, Member, Prefecture, Rank, Tag

pytestmark = pytest.mark.django_db

NEW_USER = "U" + "c" * 32


def test_an_unknown_customer_id_without_a_line_user_id_is_404_and_stores_nothing(api, channel):
    response = api.put("members/C-2002/", {"rank": "gold"})

    assert response.status_code == 404
    assert "line_user_id" in response.json()["detail"]
    assert not Member.objects.filter(external_customer_id="C-2002").exists()


def test_a_customer_id_is_attached_to_a_new_line_user_as_a_new_member(api, channel):
    response = api.put(
        "members/C-2002/",
        {
            "line_user_id": NEW_USER,
            "gender": "female",
            "birthday": "1990-04-01",
            "prefecture": 13,
            "rank": "gold",
            "points": 1200,
            "attributes": {"favourite_store": "Shibuya"},
            "tags": ["vip", "newsletter"],
        },
    )

    assert response.status_code == 201
    body = response.json()
    assert body["external_id"] == "C-2002"
    assert body["line_user_id"] == NEW_USER
    assert body["friend_status"] == FriendStatus.UNKNOWN
    assert sorted(body["tags"]) == ["newsletter", "vip"]
    member = Member.objects.get(channel=channel, line_user_id=NEW_USER)
    assert member.external_customer_id == "C-2002"
    assert member.prefecture == Prefecture.TOKYO
    assert member.rank == Rank.GOLD
    assert member.points == 1200
    assert str(member.birthday) == "1990-04-01"
    assert member.attributes == {"favourite_store": "Shibuya"}


def test_a_customer_id_is_attached_to_an_existing_friend(api, channel):
    friend = Member.objects.create(
        channel=channel, line_user_id=NEW_USER, friend_status=FriendStatus.FRIEND
    )

    response = api.put("members/C-3003/", {"line_user_id": NEW_USER, "points": 5})

    assert response.status_code == 200
    friend.refresh_from_db()
    assert friend.external_customer_id == "C-3003"
    assert friend.points == 5
    assert friend.friend_status == FriendStatus.FRIEND
    assert Member.objects.filter(channel=channel).count() == 1


def test_an_update_changes_only_the_fields_sent(api, member, channel):
    member.rank = Rank.SILVER
    member.points = 10
    member.attributes = {"store": "Ginza", "size": "M"}
    member.save()
    staff_tag = Tag.objects.create(channel=channel, name="called by support")
    old_tag = Tag.objects.create(channel=channel, name="trial")
    member.tags.add(staff_tag, old_tag)

    response = api.put(
        "members/C-1001/",
        {
            "points": 300,
            "attributes": {"size": None, "colour": "blue"},
            "tags": ["vip"],
            "tags_remove": ["trial"],
        },
    )

    assert response.status_code == 200
    member.refresh_from_db()
    assert member.rank == Rank.SILVER
    assert member.points == 300
    assert member.attributes == {"store": "Ginza", "colour": "blue"}
    assert sorted(member.tags.values_list("name", flat=True)) == ["called by support", "vip"]
    assert sorted(response.json()["tags"]) == ["called by support", "vip"]


def test_a_line_user_id_that_contradicts_the_customer_id_is_a_409(api, member):
    response = api.put("members/C-1001/", {"line_user_id": NEW_USER, "points": 1})

    assert response.status_code == 409
    assert "line_user_id" in response.json()
    member.refresh_from_db()
    assert member.points == 0


def test_a_line_user_with_another_customer_id_is_a_409(api, member):
    response = api.put("members/C-9999/", {"line_user_id": member.line_user_id})

    assert response.status_code == 409
    assert "line_user_id" in response.json()
    member.refresh_from_db()
    assert member.external_customer_id == "C-1001"


def test_bad_fields_are_a_400_naming_each_field_and_change_nothing(api, member):
    response = api.put(
        "members/C-1001/",
        {
            "line_user_id": "not-a-line-id",
            "prefecture": 48,
            "points": -1,
            "rank": "diamond",
            "birthday": "2999-01-01",
            "attributes": ["not", "a", "dict"],
        },
    )

    assert response.status_code == 400
    errors = response.json()
    assert set(errors) == {"line_user_id", "prefecture", "points", "rank", "birthday", "attributes"}
    assert errors["line_user_id"] == ["A LINE user ID is U and 32 hex digits."]
    member.refresh_from_db()
    assert member.points == 0


def test_a_member_is_found_by_customer_id_and_by_line_user_id(api, member):
    by_customer = api.get("members/C-1001/")
    by_line = api.get(f"members/by-line-user/{member.line_user_id}/")

    assert by_customer.status_code == by_line.status_code == 200
    assert by_customer.json() == by_line.json()
    assert by_customer.json()["line_user_id"] == member.line_user_id


def test_another_channels_member_is_404_and_untouched(api, other_channel_member):
    assert api.get("members/C-1001/").status_code == 404
    assert api.get(f"members/by-line-user/{other_channel_member.line_user_id}/").status_code == 404

    response = api.put("members/C-1001/", {"points": 999})

    assert response.status_code == 404
    other_channel_member.refresh_from_db()
    assert other_channel_member.points == 0


def test_another_channels_line_user_becomes_a_separate_member_of_this_channel(
    api, channel, other_channel_member
):
    """LINE user IDs differ per provider; the same ID in our channel is a member of our own."""
    response = api.put("members/C-1001/", {"line_user_id": other_channel_member.line_user_id})

    assert response.status_code == 201
    assert Member.objects.get(channel=channel).external_customer_id == "C-1001"
    other_channel_member.refresh_from_db()
    assert other_channel_member.channel_id != channel.pk
