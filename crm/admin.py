from django.contrib import admin
from django.utils.translation import gettext_lazy as _


class CrmAdminSite(admin.AdminSite):
    """The staff console: Django's admin, branded for the product."""

    site_header = _("Enishi LINE CRM")
    site_title = _("Enishi LINE CRM")
    index_title = _("Customers, messages and campaigns")
