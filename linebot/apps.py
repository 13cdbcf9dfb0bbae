from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class LinebotConfig(AppConfig):
    name = "linebot"
    verbose_name = _("LINE platform")
