from allauth.socialaccount.providers.oauth2.urls import default_urlpatterns

from .provider import LineLoginProvider

urlpatterns = default_urlpatterns(LineLoginProvider)
