from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class IntegrationsConfig(AppConfig):
    """The REST API through which the company's systems report members and events."""

    name = "integrations"
    verbose_name = _("Integrations")

    def ready(self):
        from . import schema  # noqa: F401  (registers the token scheme with drf-spectacular)
