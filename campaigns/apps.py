from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CampaignsConfig(AppConfig):
    name = "campaigns"
    verbose_name = _("Campaigns")

    def ready(self):
        from members.conversations import SharedLogReader, shared_log_register
        from members.models import MessageSource

        from . import receivers  # noqa: F401  (connects the signal receivers)
        from .received import campaign_received, member_audience_keys

        # A multicast is logged once; the campaign's deliveries say who received it.
        shared_log_register(
            MessageSource.CAMPAIGN,
            SharedLogReader(audience_keys=member_audience_keys, received=campaign_received),
        )
