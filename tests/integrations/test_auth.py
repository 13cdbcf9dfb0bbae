import hashlib

import pytest
from django.utils import timezone

from integrations.models import Integration
from integrations.tokens import integration_revoke
from tests.factories import StaffFactory

from .conftest import Api

pytestmark = pytest.mark.django_db


def test_a_request_without_a_token_is_401_and_says_bearer(client, member):
    response = Api(client, None).get("members/C-1001/")

    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_a_wrong_token_is_401(client, member, integration):
    response = Api(client, integration.token[:-2] + "xx").get("members/C-1001/")

    assert response.status_code == 401
    assert response.json()["detail"] == "The token is not valid or was revoked."


def test_a_malformed_authorization_header_is_401(client, member):
    response = client.get("/api/v1/members/C-1001/", HTTP_AUTHORIZATION="Bearer a b")

    assert response.status_code == 401


def test_a_revoked_token_stops_working_at_once(api, member, integration):
    assert api.get("members/C-1001/").status_code == 200

    assert integration_revoke(integration=integration) is True

    assert api.get("members/C-1001/").status_code == 401
    integration.refresh_from_db()
    assert integration.is_active is False
    assert integration.revoked_at is not None


def test_the_token_is_stored_only_as_its_hash(integration):
    row = Integration.objects.filter(pk=integration.pk).values().get()

    assert integration.token not in str(row)
    assert row["token_sha256"] == hashlib.sha256(integration.token.encode()).hexdigest()
    assert integration.token.startswith(row["token_prefix"])


def test_a_request_records_when_the_integration_was_last_used(api, member, integration):
    assert integration.last_used_at is None
    before = timezone.now()

    api.get("members/C-1001/")

    integration.refresh_from_db()
    assert integration.last_used_at >= before


def test_a_logged_in_staff_session_does_not_open_the_api(client, member):
    client.force_login(StaffFactory(is_superuser=True))

    assert client.get("/api/v1/members/C-1001/").status_code == 401


def test_each_integration_has_its_own_request_rate(api, member, settings):
    settings.INTEGRATIONS_API_RATE = "2/min"

    assert api.get("members/C-1001/").status_code == 200
    assert api.get("members/C-1001/").status_code == 200
    refused = api.get("members/C-1001/")

    assert refused.status_code == 429
    assert int(refused["Retry-After"]) > 0
