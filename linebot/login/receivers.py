from allauth.account.signals import user_logged_in
from django.dispatch import receiver

from linebot.models import Channel

from .signals import line_login_completed
from .views import channel_for_login_app


@receiver(user_logged_in, dispatch_uid="linebot.login.completed")
def announce_line_login(sender, request, user, sociallogin=None, **kwargs):
    if sociallogin is None or sociallogin.account.provider != "line":
        return
    data = sociallogin.account.extra_data
    line_login_completed.send(
        sender=Channel,
        user=user,
        channel=channel_for_login_app(sociallogin.account.get_provider().app),
        line_user_id=sociallogin.account.uid,
        profile={
            "name": data.get("name") or data.get("displayName") or "",
            "picture": data.get("picture") or data.get("pictureUrl") or "",
            "email": data.get("email") or "",
        },
        friend_flag=data.get("friendFlag"),
        friendship_status_changed=data.get("friendshipStatusChanged"),
    )
