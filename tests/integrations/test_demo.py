import pytest

from integrations.demo import demo_integration, demo_shop_reports
from integrations.tokens import integration_revoke
from members.models import EventKind, Member, MemberEvent

from .conftest import Api

pytestmark = pytest.mark.django_db


@pytest.fixture
def var_dir(settings, tmp_path):
    settings.VAR_DIR = tmp_path
    return tmp_path


def test_the_demo_token_stays_valid_across_runs_and_is_replaced_once_revoked(
    client, channel, member, var_dir
):
    token = demo_integration(channel)

    assert demo_integration(channel) == token
    assert Api(client, token).get("members/C-1001/").status_code == 200
    assert token in (var_dir / "demo-credentials.json").read_text()

    integration_revoke(integration=channel.integrations.get())
    replacement = demo_integration(channel)

    assert replacement != token
    assert Api(client, replacement).get("members/C-1001/").status_code == 200


def test_the_demo_shop_reports_customer_ids_and_events_once(channel):
    line_user_ids = [f"U{n:032x}" for n in range(1, 5)]
    for line_user_id in line_user_ids:
        Member.objects.create(channel=channel, line_user_id=line_user_id)

    first = demo_shop_reports(channel, line_user_ids)
    again = demo_shop_reports(channel, line_user_ids)

    assert (first["created"], first["failed"]) == (4, 0)
    assert (again["created"], again["duplicates"]) == (0, 4)
    assert Member.objects.get(line_user_id=line_user_ids[1]).external_customer_id == "C-1002"
    assert (
        MemberEvent.objects.filter(kind=EventKind.CART_ADD).get().member.line_user_id
        == (line_user_ids[1])
    )
