from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class MembersConfig(AppConfig):
    name = "members"
    verbose_name = _("Members")

    def ready(self):
        from . import richmenu_receivers  # noqa: F401, I001
        from . import receivers, webhooks  # noqa: F401  (handlers and signal receivers)
