import pytest
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command
from django.test import override_settings

from linebot.channels import channel_upsert
from linebot.models import Channel, Platform
from tests.factories import ChannelFactory

SECRET = "0123456789abcdef0123456789abcdef"


@pytest.mark.django_db
def test_upsert_creates_then_updates_only_the_given_fields():
    channel, created = channel_upsert(
        channel_id="1650000999", name="Shibuya Store", channel_secret=SECRET, access_token="tok"
    )
    assert created and channel.platform == Platform.SANDBOX

    same, created = channel_upsert(channel_id="1650000999", name="Shibuya Flagship")

    assert not created and same.pk == channel.pk
    same.refresh_from_db()
    assert same.name == "Shibuya Flagship"
    assert same.channel_secret == SECRET and same.access_token == "tok"


@pytest.mark.django_db
def test_upsert_rejects_a_bad_secret_naming_the_field_and_writes_nothing():
    with pytest.raises(ValidationError) as error:
        channel_upsert(channel_id="1650000999", name="X", channel_secret="nothex", access_token="t")

    assert "channel_secret" in error.value.message_dict
    assert not Channel.objects.exists()


@pytest.mark.django_db
def test_several_channels_each_have_their_own_webhook_url():
    first, second = ChannelFactory(), ChannelFactory()

    with override_settings(SITE_URL="https://crm.example.jp"):
        assert first.webhook_url == f"https://crm.example.jp/line/webhook/{first.webhook_key}/"
        assert first.webhook_url != second.webhook_url


@pytest.mark.django_db
def test_switching_a_channel_to_real_line_is_configuration_not_code():
    channel = ChannelFactory(platform=Platform.SANDBOX)
    with override_settings(
        LINE_PLATFORMS={
            "sandbox": {"api": "http://127.0.0.1:8001"},
            "line": {"api": "https://api.line.me"},
        }
    ):
        assert channel.base_urls["api"] == "http://127.0.0.1:8001"
        channel.platform = Platform.LINE
        assert channel.base_urls["api"] == "https://api.line.me"


@pytest.mark.django_db
def test_command_takes_secrets_from_the_environment_and_never_prints_them(monkeypatch, capsys):
    monkeypatch.setenv("LINE_CHANNEL_SECRET", SECRET)
    monkeypatch.setenv("LINE_CHANNEL_ACCESS_TOKEN", "long-lived-token-value")

    call_command(
        "channel_upsert", "--channel-id", "1650000777", "--name", "Osaka", "--platform", "line"
    )

    out = capsys.readouterr().out
    channel = Channel.objects.get(channel_id="1650000777")
    assert channel.platform == Platform.LINE and channel.access_token == "long-lived-token-value"
    assert "Created channel 1650000777" in out and channel.webhook_url in out
    assert SECRET not in out and "long-lived-token-value" not in out

    call_command("channel_upsert", "--channel-id", "1650000777", "--inactive")
    channel.refresh_from_db()
    assert channel.is_active is False and channel.name == "Osaka"


@pytest.mark.django_db
def test_command_reports_invalid_values_by_field():
    with pytest.raises(CommandError, match="channel_id"):
        call_command(
            "channel_upsert",
            "--channel-id",
            "abc",
            "--name",
            "X",
            "--channel-secret",
            SECRET,
            "--access-token",
            "t",
        )
