import re

import pytest

from crm import roles
from integrations.models import Integration
from tests.factories import StaffFactory

from .conftest import Api

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_staff(client):
    staff = StaffFactory(role=roles.ADMINISTRATORS)
    client.force_login(staff)
    return staff


def _create(client, channel, name="Online shop"):
    return client.post(
        "/admin/integrations/integration/add/",
        {"name": name, "channel": channel.pk},
        HTTP_ACCEPT_LANGUAGE="en",
    )


def test_creating_an_integration_shows_its_token_once(client, admin_staff, channel, member):
    response = _create(client, channel)

    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    token = re.search(r'id="integration-token"[^>]* value="([^"]+)"', response.text)[1]
    integration = Integration.objects.get()
    assert integration.created_by == admin_staff
    assert integration.channel == channel
    assert token not in str(Integration.objects.values().get())
    assert Api(client, token).get("members/C-1001/").status_code == 200

    later = client.get(f"/admin/integrations/integration/{integration.pk}/change/")
    assert later.status_code == 200
    assert token not in later.text
    assert integration.token_prefix in later.text
    assert token not in client.get("/admin/integrations/integration/").text


def test_revoking_from_the_list_stops_the_token(client, admin_staff, channel, member, integration):
    response = client.post(
        "/admin/integrations/integration/",
        {"action": "revoke_selected", "_selected_action": [integration.pk]},
        follow=True,
    )

    assert response.status_code == 200
    integration.refresh_from_db()
    assert integration.is_active is False
    assert Api(client, integration.token).get("members/C-1001/").status_code == 401


def test_the_channel_of_an_integration_cannot_be_changed(client, admin_staff, integration):
    from tests.factories import ChannelFactory

    other = ChannelFactory()
    client.post(
        f"/admin/integrations/integration/{integration.pk}/change/",
        {"name": "Renamed", "channel": other.pk},
    )

    integration.refresh_from_db()
    assert integration.name == "Renamed"
    assert integration.channel_id != other.pk


def test_marketing_staff_see_integrations_but_cannot_create_or_revoke(client, integration):
    client.force_login(StaffFactory(role=roles.MARKETING))

    assert client.get("/admin/integrations/integration/").status_code == 200
    assert client.get("/admin/integrations/integration/add/").status_code == 403
    client.post(
        "/admin/integrations/integration/",
        {"action": "revoke_selected", "_selected_action": [integration.pk]},
    )
    integration.refresh_from_db()
    assert integration.is_active is True


def test_support_agents_do_not_see_integrations(client, integration):
    client.force_login(StaffFactory(role=roles.SUPPORT))

    assert client.get("/admin/integrations/integration/").status_code == 403


def test_marketing_sees_the_catalog_the_api_sent_but_cannot_edit_it(client, api, channel):
    api.put("products/SKU-1/", {"name": "Linen shirt", "price": "4900"})
    client.force_login(StaffFactory(role=roles.MARKETING))

    listing = client.get("/admin/integrations/product/", HTTP_ACCEPT_LANGUAGE="en")
    assert listing.status_code == 200
    assert "Linen shirt" in listing.content.decode()
    assert client.get("/admin/integrations/product/add/").status_code == 403
