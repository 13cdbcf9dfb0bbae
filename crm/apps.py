from django.apps import AppConfig
from django.contrib.admin.apps import AdminConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


class CrmAdminConfig(AdminConfig):
    default_site = "crm.admin.CrmAdminSite"


class CrmConfig(AppConfig):
    name = "crm"
    verbose_name = _("CRM")

    def ready(self):
        from . import roles

        # Every migrate brings the role groups in line with crm.roles, so permissions of
        # models added by later migrations reach the roles without a data migration each.
        post_migrate.connect(roles.roles_sync_after_migrate, dispatch_uid="crm.roles_sync")
