from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class JourneysConfig(AppConfig):
    """Step sequences and trigger notifications: the right message when something happens."""

    name = "journeys"
    verbose_name = _("Journeys")

    def ready(self):
        from . import receivers  # noqa: F401  (connects the signal receivers)
