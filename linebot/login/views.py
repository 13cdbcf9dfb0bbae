import datetime as dt

from allauth.socialaccount.adapter import get_adapter
from allauth.socialaccount.models import SocialToken
from allauth.socialaccount.providers.line.views import LineOAuth2Adapter
from allauth.socialaccount.providers.oauth2.views import OAuth2CallbackView, OAuth2LoginView
from django.core.exceptions import ImproperlyConfigured
from django.utils import timezone

from linebot.models import Channel


def channel_for_login_app(app) -> Channel:
    """The Messaging API channel a Login SocialApp belongs to (same LINE provider)."""
    channel = Channel.objects.filter(login_app=app).first()
    if channel is None:
        raise ImproperlyConfigured(
            f"The LINE Login app '{app.name}' is not tied to a channel: set it on the channel."
        )
    return channel


class LineLoginAdapter(LineOAuth2Adapter):
    """allauth's LINE adapter, talking to the platform of the app's channel."""

    def _base(self, host: str) -> str:
        return channel_for_login_app(self.get_provider().app).base_urls[host]

    @property
    def authorize_url(self):
        return self._base("access") + "/oauth2/v2.1/authorize"

    @property
    def access_token_url(self):
        return self._base("api") + "/oauth2/v2.1/token"

    @property
    def id_token_url(self):
        return self._base("api") + "/oauth2/v2.1/verify"

    @property
    def profile_url(self):
        return self._base("api") + "/v2/profile"

    @property
    def friendship_url(self):
        return self._base("api") + "/friendship/v1/status"

    def parse_token(self, data):
        # Keep the access token (allauth keeps the ID token when email is in scope): the
        # friendship status endpoint needs it.
        token = SocialToken(token=data["access_token"], token_secret=data.get("refresh_token", ""))
        if data.get("expires_in"):
            token.expires_at = timezone.now() + dt.timedelta(seconds=int(data["expires_in"]))
        return token

    def complete_login(self, request, app, token, **kwargs):
        response = kwargs.get("response") or {}
        bearer = {"Authorization": f"Bearer {token.token}"}
        with get_adapter().get_requests_session() as session:
            if response.get("id_token"):
                # LINE checks the signature, audience, expiry (and nonce) for us.
                answer = session.post(
                    self.id_token_url,
                    data={"id_token": response["id_token"], "client_id": app.client_id},
                    timeout=10,
                )
            else:
                answer = session.get(self.profile_url, headers=bearer, timeout=10)
            answer.raise_for_status()
            extra_data = answer.json()
            friendship = session.get(self.friendship_url, headers=bearer, timeout=10)
            if friendship.ok:
                extra_data["friendFlag"] = friendship.json().get("friendFlag")
        changed = request.GET.get("friendship_status_changed")
        if changed in ("true", "false"):
            extra_data["friendshipStatusChanged"] = changed == "true"
        return self.get_provider().sociallogin_from_response(request, extra_data)


oauth2_login = OAuth2LoginView.adapter_view(LineLoginAdapter)
oauth2_callback = OAuth2CallbackView.adapter_view(LineLoginAdapter)
