"""LINE Login in a real browser, against the sandbox's Login emulation over HTTP."""

import pytest

from linebot.models import WebhookEvent
from members.models import FriendStatus, LinkMethod, Member, MemberLink
from tests.conftest import wait_for

pytestmark = [pytest.mark.browser, pytest.mark.worker]


def log_in_with_line(page, live_server, *, name, add_friend=True):
    page.goto(f"{live_server.url}/accounts/login/")
    page.click("#line-login")
    page.wait_for_url("**/oauth2/v2.1/authorize**")
    page.check("input[name=user_id][value='']")
    page.fill("input[name=display_name]", name)
    if page.locator("input[name=add_friend]").count():
        page.set_checked("input[name=add_friend]", add_friend)
    page.click("button[value=allow]")
    page.wait_for_url(f"{live_server.url}/members/me/")


def test_logging_in_with_line_links_the_friend_and_adds_the_account(
    line_login, browser, live_server
):
    page = browser.new_page(locale="en-US")
    log_in_with_line(page, live_server, name="Login Taro")

    assert "Test shop" in page.inner_text("main")
    link = MemberLink.objects.select_related("member", "user").get()
    assert link.method == LinkMethod.LINE_LOGIN and link.is_active
    assert link.member.friend_status == FriendStatus.FRIEND
    assert link.member.display_name == "Login Taro"
    # The friend-add sent a follow webhook; once handled, still one member, still linked.
    wait_for(lambda: WebhookEvent.objects.filter(event_type="follow", status="done").exists())
    assert Member.objects.filter(line_user_id=link.member.line_user_id).count() == 1
    assert MemberLink.objects.active().get().member_id == link.member_id
    # The authorize request carried PKCE and bot_prompt.
    authorize = line_login.control.requests(endpoint="login_authorize")[0]
    assert "code_challenge_method=S256" in authorize["path"] + str(authorize.get("query", ""))
    page.close()


def test_declining_the_friend_add_links_but_leaves_friendship_unknown_until_they_follow(
    line_login, browser, live_server
):
    page = browser.new_page(locale="en-US")
    log_in_with_line(page, live_server, name="Shy Hanako", add_friend=False)

    link = MemberLink.objects.select_related("member").get()
    assert link.member.friend_status == FriendStatus.UNKNOWN
    assert not WebhookEvent.objects.exists()

    # Later they follow: the webhook finds the same member (no duplicate), now a friend.
    line_login.control.follow(line_login.channel.channel_id, link.member.line_user_id)
    member = wait_for(
        lambda: Member.objects.filter(pk=link.member_id, friend_status="friend").first()
    )
    assert member is not None
    assert Member.objects.count() == 1 and MemberLink.objects.active().count() == 1
    page.close()


def test_a_friend_linked_to_a_site_account_logs_in_to_that_account(
    line_login, browser, live_server, django_user_model
):
    from members.linking import member_link

    user_id = line_login.user(displayName="Linked Mika")
    member = wait_for(lambda: Member.objects.filter(line_user_id=user_id).first())
    customer = django_user_model.objects.create_user("mika-customer", password="pw-mika-1")
    member_link(member=member, user=customer, method=LinkMethod.SIGNED_URL)

    page = browser.new_page(locale="en-US")
    page.goto(f"{live_server.url}/accounts/login/")
    page.click("#line-login")
    page.wait_for_url("**/oauth2/v2.1/authorize**")
    page.check(f"input[name=user_id][value='{user_id}']")
    page.click("button[value=allow]")
    page.wait_for_url(f"{live_server.url}/members/me/")

    assert "mika-customer" in page.inner_text("main")
    assert django_user_model.objects.count() == 1
    link = MemberLink.objects.active().get()
    assert link.user == customer and link.method == LinkMethod.SIGNED_URL
    page.close()
