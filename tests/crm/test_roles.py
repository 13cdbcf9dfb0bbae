import pytest
from django.contrib.auth.models import Group
from django.core.management import call_command

from crm import roles
from tests.factories import ChannelFactory, StaffFactory

pytestmark = pytest.mark.django_db


def test_migrate_creates_a_group_for_each_role():
    assert set(Group.objects.values_list("name", flat=True)) >= {
        roles.MARKETING,
        roles.SUPPORT,
        roles.ADMINISTRATORS,
    }


def test_marketing_staff_see_channels_but_cannot_change_them(client):
    channel = ChannelFactory()
    client.force_login(StaffFactory(role=roles.MARKETING))

    assert client.get("/admin/linebot/channel/").status_code == 200
    assert client.get("/admin/linebot/channel/add/").status_code == 403
    assert (
        client.post(f"/admin/linebot/channel/{channel.pk}/delete/", {"post": "yes"}).status_code
        == 403
    )
    assert client.get("/admin/auth/user/").status_code == 403


def test_support_agents_cannot_manage_staff_or_schedules(client):
    client.force_login(StaffFactory(role=roles.SUPPORT))

    assert client.get("/admin/auth/group/").status_code == 403
    assert client.get("/admin/django_celery_beat/periodictask/").status_code == 403


def test_administrators_manage_channels_and_staff(client):
    client.force_login(StaffFactory(role=roles.ADMINISTRATORS))

    assert client.get("/admin/linebot/channel/add/").status_code == 200
    assert client.get("/admin/auth/user/").status_code == 200


def test_sync_resets_permissions_someone_added_by_hand(capsys):
    support = Group.objects.get(name=roles.SUPPORT)
    support.permissions.set(Group.objects.get(name=roles.ADMINISTRATORS).permissions.all())

    call_command("roles_sync")

    assert not support.permissions.filter(codename="delete_channel").exists()
    assert "Support agents" in capsys.readouterr().out
