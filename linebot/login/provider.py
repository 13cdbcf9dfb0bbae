from allauth.socialaccount.providers.line.provider import LineProvider
from django.conf import settings

from .views import LineLoginAdapter


class LineLoginProvider(LineProvider):
    id = "line"
    name = "LINE"
    oauth2_adapter_class = LineLoginAdapter
    pkce_enabled_default = True

    def get_default_scope(self):
        return list(settings.LINE_LOGIN_SCOPE)

    def get_auth_params(self):
        params = (
            {"bot_prompt": settings.LINE_LOGIN_BOT_PROMPT} if settings.LINE_LOGIN_BOT_PROMPT else {}
        )
        params.update(super().get_auth_params())
        return params

    def get_auth_params_from_request(self, request, action):
        # Only our own parameters: a crafted ?auth_params= must not change bot_prompt or add
        # parameters LINE would honour.
        return self.get_auth_params()

    def extract_uid(self, data):
        return str(data.get("sub") or data.get("userId"))

    def extract_common_fields(self, data):
        return {
            "email": data.get("email"),
            "username": data.get("email") or self.extract_uid(data),
            "name": data.get("name") or data.get("displayName"),
        }


provider_classes = [LineLoginProvider]
