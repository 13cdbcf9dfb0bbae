"""The account-link flow, signed link URLs, unlinking and the ID-link rate, end to end."""

import datetime as dt
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from django.contrib.auth import get_user_model
from django.core import signing
from django.utils import timezone

from linebot.client import client_for_channel
from members.linking import LINK_URL_SALT, link_rate_snapshot, link_url_create
from members.models import (
    AccountLinkNonce,
    LinkAction,
    LinkEvent,
    LinkMethod,
    Member,
    MemberLink,
)
from members.receivers import ACCOUNT_LINK_POSTBACK
from tests.conftest import wait_for
from tests.factories import ChannelFactory

User = get_user_model()


def friend(line_app, name="Kenta"):
    user_id = line_app.user(displayName=name)
    return wait_for(lambda: Member.objects.filter(line_user_id=user_id).first())


def start_link_from_line(line_app, member):
    """The friend taps the rich menu's link button; we answer with a button to our page."""
    line_app.control.postback(
        line_app.channel.channel_id, member.line_user_id, ACCOUNT_LINK_POSTBACK
    )

    def button_uri():
        for item in line_app.control.messages(line_app.channel.channel_id, member.line_user_id):
            message = item["message"]
            if message.get("type") == "template":
                return message["template"]["actions"][0]["uri"]
        return None

    return wait_for(button_uri)


def sign_in_and_consent(client, uri, user):
    client.force_login(user)
    parts = urlsplit(uri)
    path = f"{parts.path}?{parts.query}"
    assert client.get(path).status_code == 200
    response = client.post(path, {"consent": "yes"})
    assert response.status_code == 302
    return response["Location"]


@pytest.mark.worker
def test_account_link_flow_links_the_friend_to_the_site_account(line_app, client):
    member = friend(line_app)
    customer = User.objects.create_user("customer1", password="pw-customer-1")

    uri = start_link_from_line(line_app, member)
    dialog = sign_in_and_consent(client, uri, customer)

    assert dialog.startswith(f"{line_app.sandbox.url}/dialog/bot/accountLink?")
    nonce = parse_qs(urlsplit(dialog).query)["nonce"][0]
    assert len(nonce) >= 22 and AccountLinkNonce.objects.get(nonce=nonce).user == customer
    # The friend completes LINE's dialog: LINE sends the accountLink webhook.
    assert requests.get(dialog, timeout=10).status_code == 200

    link = wait_for(lambda: MemberLink.objects.active().filter(member=member).first())
    assert link.user == customer and link.method == LinkMethod.ACCOUNT_LINK
    assert AccountLinkNonce.objects.get(nonce=nonce).used_at is not None


@pytest.mark.worker
def test_replayed_expired_and_foreign_nonces_link_nothing(line_app, client):
    member = friend(line_app)
    customer = User.objects.create_user("customer2", password="pw-customer-2")
    uri = start_link_from_line(line_app, member)
    dialog = sign_in_and_consent(client, uri, customer)
    requests.get(dialog, timeout=10)
    wait_for(lambda: MemberLink.objects.active().exists())
    MemberLink.objects.all().delete()
    used_nonce = parse_qs(urlsplit(dialog).query)["nonce"][0]
    channel_id = line_app.channel.channel_id
    client_api = client_for_channel(line_app.channel)

    def dialog_with(nonce):
        token = client_api.link_token_issue(user_id=member.line_user_id).link_token
        return line_app.control.account_link(channel_id, token, nonce)

    expired = AccountLinkNonce.objects.create(
        nonce="e" * 32,
        channel=line_app.channel,
        user=customer,
        expires_at=timezone.now() - dt.timedelta(seconds=1),
    )
    foreign = AccountLinkNonce.objects.create(
        nonce="f" * 32,
        channel=ChannelFactory(),
        user=customer,
        expires_at=timezone.now() + dt.timedelta(minutes=5),
    )
    for nonce in (used_nonce, expired.nonce, foreign.nonce, "never-issued-nonce"):
        dialog_with(nonce)

    refused = wait_for(
        lambda: (
            list(LinkEvent.objects.filter(action=LinkAction.REFUSED))
            if LinkEvent.objects.filter(action=LinkAction.REFUSED).count() == 4
            else None
        )
    )
    assert sorted(event.reason for event in refused) == [
        "nonce already used (replay)",
        "nonce expired",
        "nonce issued for another channel",
        "unknown nonce",
    ]
    assert not MemberLink.objects.exists()


@pytest.mark.django_db
def test_signed_link_url_links_and_tampered_or_expired_ones_are_refused(client, settings):
    member = Member.objects.create(channel=ChannelFactory(), line_user_id="U" + "b" * 32)
    customer = User.objects.create_user("customer3", password="pw-customer-3")
    client.force_login(customer)
    url = link_url_create(member=member)
    path = urlsplit(url).path

    tampered = path.replace("/link/u/", "/link/u/x")
    assert client.get(tampered).status_code == 400
    forged = signing.dumps({"c": member.channel_id, "u": "U" + "c" * 32}, salt="other-salt")
    assert client.get(f"/members/link/u/{forged}/").status_code == 400
    settings.LINE_LINK_URL_MAX_AGE = -1
    assert client.get(path).status_code == 400
    assert not MemberLink.objects.exists()

    settings.LINE_LINK_URL_MAX_AGE = 3600
    assert client.post(path, {}).status_code == 200  # no consent, no link
    assert not MemberLink.objects.exists()
    assert client.post(path, {"consent": "yes"})["Location"] == "/members/link/done/"
    link = MemberLink.objects.get()
    assert link.user == customer and link.method == LinkMethod.SIGNED_URL
    assert signing.loads(path.split("/")[-2], salt=LINK_URL_SALT)["u"] == member.line_user_id


@pytest.mark.django_db
def test_member_unlinks_then_relinks_and_the_history_shows_both(client):
    member = Member.objects.create(
        channel=ChannelFactory(), line_user_id="U" + "d" * 32, display_name="Mai"
    )
    customer = User.objects.create_user("customer4", password="pw-customer-4")
    client.force_login(customer)
    path = urlsplit(link_url_create(member=member)).path
    client.post(path, {"consent": "yes"})
    link = MemberLink.objects.get()

    page = client.get("/members/me/", headers={"accept-language": "en"}).content.decode()
    assert "Linked with Mai" in page
    client.post("/members/me/", {"link": link.pk, "action": "opt_out"})
    assert Member.objects.get().marketing_opted_out_at is not None
    client.post("/members/me/", {"link": link.pk, "action": "unlink"})
    assert not MemberLink.objects.active().exists()
    page = client.get("/members/me/", headers={"accept-language": "en"}).content.decode()
    assert "No LINE account is linked yet" in page

    client.post(path, {"consent": "yes"})

    assert MemberLink.objects.active().get().user == customer
    assert list(
        LinkEvent.objects.order_by("created_at", "id").values_list("action", flat=True)
    ) == [LinkAction.LINKED, LinkAction.UNLINKED, LinkAction.LINKED]


@pytest.mark.django_db
def test_another_users_link_cannot_be_touched_from_my_page(client):
    member = Member.objects.create(channel=ChannelFactory(), line_user_id="U" + "e" * 32)
    owner = User.objects.create_user("owner", password="pw-owner-1")
    client.force_login(owner)
    client.post(urlsplit(link_url_create(member=member)).path, {"consent": "yes"})
    link = MemberLink.objects.get()

    client.force_login(User.objects.create_user("intruder", password="pw-intruder-1"))
    response = client.post("/members/me/", {"link": link.pk, "action": "unlink"})

    assert response.status_code == 404
    assert MemberLink.objects.active().exists()


@pytest.mark.django_db
def test_staff_unlink_and_the_id_link_rate_with_history(admin_client, admin_user):
    channel = ChannelFactory(name="Rate shop")
    members = [
        Member.objects.create(channel=channel, line_user_id=f"U{i:032x}", friend_status="friend")
        for i in range(4)
    ]
    for index, member in enumerate(members[:2]):
        user = User.objects.create_user(f"c{index}", password="pw-rate-1")
        MemberLink.objects.create(
            member=member,
            channel=channel,
            user=user,
            method=LinkMethod.STAFF,
            linked_at=timezone.now(),
        )
    link_rate_snapshot(day=dt.date(2026, 11, 22))

    page = admin_client.get("/admin/members/member/", headers={"accept-language": "en"})
    html = page.content.decode()
    assert "50%" in html and "2 of 4 friends linked" in html
    assert "2026-11-22: 2/4" in html
    linked_only = admin_client.get("/admin/members/member/?linked=yes")
    assert linked_only.context["cl"].result_count == 2

    admin_client.post(
        "/admin/members/member/",
        {"action": "unlink", "_selected_action": [members[0].pk]},
    )

    assert MemberLink.objects.active().count() == 1
    event = LinkEvent.objects.get(action=LinkAction.UNLINKED)
    assert event.by_staff == admin_user and event.member == members[0]


@pytest.mark.django_db
def test_a_login_callback_with_a_foreign_state_logs_nobody_in(client):
    from allauth.socialaccount.models import SocialApp
    from django.contrib.sites.models import Site

    app = SocialApp.objects.create(provider="line", name="Login", client_id="2000001", secret="s")
    app.sites.add(Site.objects.get_current())
    ChannelFactory(login_app=app)

    response = client.get("/accounts/line/login/callback/?code=stolen-code&state=forged-state")

    assert response.status_code == 401  # allauth's "login failed" page
    assert "_auth_user_id" not in client.session
    assert not MemberLink.objects.exists() and not User.objects.exists()
