"""How an API request proves which integration (and so which channel) it comes from."""

from django.conf import settings
from django.utils.translation import gettext_lazy as _
from rest_framework import authentication, exceptions, permissions, throttling

from .models import Integration
from .tokens import integration_for_token


class IntegrationPrincipal:
    """``request.user`` for an API request: an integration, never a staff user."""

    is_authenticated = True
    is_anonymous = False
    is_active = True
    is_staff = False
    is_superuser = False
    pk = None

    def __init__(self, integration: Integration):
        self.integration = integration

    def __str__(self):
        return f"integration:{self.integration.pk}"


class IntegrationTokenAuthentication(authentication.BaseAuthentication):
    """``Authorization: Bearer <token>``; ``request.auth`` is the Integration."""

    keyword = "Bearer"

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).split()
        if not header or header[0].lower() != self.keyword.lower().encode():
            return None
        if len(header) != 2:
            raise exceptions.AuthenticationFailed(
                _("The Authorization header must be “Bearer” and the token, nothing else.")
            )
        try:
            token = header[1].decode()
        except UnicodeError:
            raise exceptions.AuthenticationFailed(_("The token is not valid.")) from None
        integration = integration_for_token(token)
        if integration is None:
            # One message for unknown and revoked tokens: no hint which tokens ever existed.
            raise exceptions.AuthenticationFailed(_("The token is not valid or was revoked."))
        return IntegrationPrincipal(integration), integration

    def authenticate_header(self, request):
        return f'{self.keyword} realm="api"'


class IsIntegration(permissions.BasePermission):
    """Only requests authenticated by an integration token."""

    def has_permission(self, request, view):
        return isinstance(request.auth, Integration)


class IntegrationRateThrottle(throttling.SimpleRateThrottle):
    """Requests per integration token, ``settings.INTEGRATIONS_API_RATE`` (e.g. "1200/min")."""

    scope = "integration"

    def get_rate(self):
        return settings.INTEGRATIONS_API_RATE or None

    def get_cache_key(self, request, view):
        if not isinstance(request.auth, Integration):
            return None
        return self.cache_format % {"scope": self.scope, "ident": request.auth.pk}
