"""Reacting to LINE Login and account-link events from ``linebot``."""

from allauth.socialaccount.signals import pre_social_login
from django.db import transaction
from django.dispatch import receiver

from linebot.login.signals import line_login_completed
from linebot.login.views import channel_for_login_app

from . import signals
from .linking import account_link_complete, line_login_link
from .models import MemberLink

# A rich menu button or message starts the account link with this postback data.
ACCOUNT_LINK_POSTBACK = "crm:account-link"


@receiver(line_login_completed, dispatch_uid="members.line_login_link")
def link_after_line_login(sender, user, channel, line_user_id, profile, **kwargs):
    line_login_link(
        user=user,
        channel=channel,
        line_user_id=line_user_id,
        profile=profile,
        friend_flag=kwargs.get("friend_flag"),
        friendship_status_changed=kwargs.get("friendship_status_changed"),
    )


@receiver(pre_social_login, dispatch_uid="members.line_login_as_linked_user")
def log_in_as_the_linked_customer(sender, request, sociallogin, **kwargs):
    """A friend already linked to a site account (by account link or a signed URL) who logs in
    with LINE signs in to that account, instead of getting a second one."""
    if sociallogin.is_existing or sociallogin.account.provider != "line":
        return
    channel = channel_for_login_app(sociallogin.account.get_provider().app)
    link = (
        MemberLink.objects.active()
        .filter(channel=channel, member__line_user_id=sociallogin.account.uid)
        .select_related("user")
        .first()
    )
    if link:
        sociallogin.connect(request, link.user)


@receiver(signals.account_link_received, dispatch_uid="members.account_link_complete")
def complete_account_link(sender, channel, line_user_id, result, nonce, event, **kwargs):
    account_link_complete(channel=channel, line_user_id=line_user_id, result=result, nonce=nonce)


@receiver(signals.postback_received, dispatch_uid="members.account_link_start")
def start_account_link(sender, member, data, params, event, **kwargs):
    from .tasks import send_account_link_start

    if data == ACCOUNT_LINK_POSTBACK and event.get("mode") != "standby":
        member_id, reply_token = member.pk, event.get("replyToken")
        transaction.on_commit(lambda: send_account_link_start.delay(member_id, reply_token))
