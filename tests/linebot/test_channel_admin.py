import pytest

from tests.factories import ChannelFactory

pytestmark = pytest.mark.django_db


def test_secrets_never_appear_in_the_list_or_the_form(admin_client):
    channel = ChannelFactory()

    for url in ("/admin/linebot/channel/", f"/admin/linebot/channel/{channel.pk}/change/"):
        html = admin_client.get(url).content.decode()
        assert channel.name in html
        assert channel.channel_secret not in html
        assert channel.access_token not in html


def test_change_form_shows_the_webhook_url_for_copying(admin_client):
    channel = ChannelFactory()

    html = admin_client.get(f"/admin/linebot/channel/{channel.pk}/change/").content.decode()

    assert f'value="{channel.webhook_url}"' in html


def _form_data(channel, **overrides):
    data = {
        "name": channel.name,
        "is_active": "on",
        "platform": channel.platform,
        "channel_id": channel.channel_id,
        "channel_secret": "",
        "access_token": "",
        "bot_basic_id": channel.bot_basic_id,
        "bot_user_id": "",
    }
    data.update(overrides)
    return data


def test_saving_with_empty_secret_fields_keeps_the_stored_secrets(admin_client):
    channel = ChannelFactory()
    secret, token = channel.channel_secret, channel.access_token

    response = admin_client.post(
        f"/admin/linebot/channel/{channel.pk}/change/", _form_data(channel, name="Renamed")
    )

    assert response.status_code == 302
    channel.refresh_from_db()
    assert channel.name == "Renamed"
    assert (channel.channel_secret, channel.access_token) == (secret, token)


def test_a_new_secret_replaces_the_old_one_and_a_bad_one_is_refused(admin_client):
    channel = ChannelFactory()
    url = f"/admin/linebot/channel/{channel.pk}/change/"

    bad = admin_client.post(
        url, _form_data(channel, channel_secret="not-hex"), headers={"accept-language": "en"}
    )
    assert bad.status_code == 200
    assert "32 hex digits" in bad.content.decode()

    admin_client.post(url, _form_data(channel, channel_secret="f" * 32, access_token="new-token"))
    channel.refresh_from_db()
    assert channel.channel_secret == "f" * 32 and channel.access_token == "new-token"
