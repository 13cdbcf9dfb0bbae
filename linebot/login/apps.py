from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class LineLoginConfig(AppConfig):
    name = "linebot.login"
    label = "linebot_login"
    verbose_name = _("LINE Login")

    def ready(self):
        from . import receivers  # noqa: F401  (connects allauth's login signal)
