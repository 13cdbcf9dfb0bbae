import pytest

from integrations.tokens import integration_create
from members.models import Member
from tests.factories import ChannelFactory


class Api:
    """The test client speaking JSON with an integration's token, as the company's system would."""

    def __init__(self, client, token):
        self.client = client
        self.token = token

    def _headers(self):
        # Messages are in Japanese unless the client asks otherwise; these tests read English.
        headers = {"HTTP_ACCEPT_LANGUAGE": "en"}
        if self.token:
            headers["HTTP_AUTHORIZATION"] = f"Bearer {self.token}"
        return headers

    def get(self, path):
        return self.client.get(f"/api/v1/{path}", **self._headers())

    def put(self, path, data):
        return self.client.put(
            f"/api/v1/{path}", data, content_type="application/json", **self._headers()
        )

    def post(self, path, data):
        return self.client.post(
            f"/api/v1/{path}", data, content_type="application/json", **self._headers()
        )


@pytest.fixture
def channel(db):
    return ChannelFactory()


@pytest.fixture
def integration(channel):
    integration, token = integration_create(name="Online shop", channel=channel)
    integration.token = token
    return integration


@pytest.fixture
def api(client, integration):
    return Api(client, integration.token)


@pytest.fixture
def member(channel):
    return Member.objects.create(
        channel=channel, line_user_id="U" + "a" * 32, external_customer_id="C-1001"
    )


@pytest.fixture
def other_channel_member(db):
    """A member of another channel, with the same customer ID as ``member``."""
    return Member.objects.create(
        channel=ChannelFactory(), line_user_id="U" + "b" * 32, external_customer_id="C-1001"
    )
