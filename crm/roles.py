"""The three staff roles and the permissions each one's work needs, and no more.

Roles are Django groups kept in line with ``ROLES`` after every ``migrate`` and by
``manage.py roles_sync``. Permissions are named ``app_label.codename``; a permission whose model
does not exist yet is skipped, so a role grows as the apps that serve it arrive.
"""

from django.apps import apps
from django.contrib.auth.models import Group, Permission
from django.db import transaction
from django.utils.translation import gettext_noop

MARKETING = gettext_noop("Marketing staff")
SUPPORT = gettext_noop("Support agents")
ADMINISTRATORS = gettext_noop("Administrators")


def _crud(app_label: str, *models: str) -> list[str]:
    return [
        f"{app_label}.{action}_{model}"
        for model in models
        for action in ("view", "add", "change", "delete")
    ]


def _view(app_label: str, *models: str) -> list[str]:
    return [f"{app_label}.view_{model}" for model in models]


ROLES: dict[str, list[str]] = {
    # Segments, messages, campaigns, sequences and rich menus; members read-only except tags.
    MARKETING: [
        *_view("linebot", "channel"),
        *_view("members", "member", "memberevent", "message"),
        *_view("members", "memberlink", "linkevent", "linkratesnapshot"),
        *_crud("members", "tag", "segment", "audience"),
        "members.export_segment",
        *_crud(
            "campaigns",
            "messagetemplate",
            "campaign",
            "sequence",
            "sequencestep",
            "triggerrule",
            "autoreply",
            "trackedlink",
            "sendingpolicy",
            "campaignvariant",
        ),
        *_crud("linebot", "richmenu", "richmenualias"),
        *_crud("members", "richmenurule"),
        *_view("members", "richmenurelink", "memberrichmenu", "richmenutap"),
        *_view("members", "trackedlink", "linkclick"),
        "campaigns.send_campaign",
        *_view("campaigns", "delivery", "enrollment"),
        *_view("django_celery_beat", "periodictask", "clockedtask", "crontabschedule"),
        *_view("integrations", "integration"),  # which systems report events; admins add/revoke
        *_view("integrations", "product"),  # the catalog is fed by the API only
        *_crud("journeys", "sequence", "step", "triggerrule"),
        *_view("journeys", "enrollment", "stepsend", "triggersend"),
        "journeys.change_enrollment",  # stop and restart a member's sequence
    ],
    # The 1:1 inbox: read members and their history, reply, tag; no sending to segments.
    SUPPORT: [
        *_view("linebot", "channel"),
        *_view("members", "member", "memberevent", "tag", "memberlink", "linkevent"),
        "members.change_member",
        *_view("members", "message", "conversation"),
        "members.add_message",
        "members.reply_conversation",
        *_view("campaigns", "messagetemplate", "delivery"),
    ],
    # Channels, staff users and roles, schedules and failed jobs: the whole console.
    ADMINISTRATORS: ["*"],
}


def role_permissions(role: str) -> "list[Permission]":
    """The existing Permission rows a role is granted."""
    names = ROLES[role]
    if names == ["*"]:
        return list(Permission.objects.all())
    wanted = {tuple(name.split(".", 1)) for name in names}
    return [
        perm
        for perm in Permission.objects.select_related("content_type")
        if (perm.content_type.app_label, perm.codename) in wanted
    ]


@transaction.atomic
def roles_sync() -> dict[str, int]:
    """Create the role groups and set each one's permissions to exactly those in ``ROLES``."""
    counts = {}
    for role in ROLES:
        group, _created = Group.objects.get_or_create(name=role)
        perms = role_permissions(role)
        group.permissions.set(perms)
        counts[role] = len(perms)
    return counts


def roles_sync_after_migrate(sender, using="default", **kwargs):
    """Sync once per migrate: after the last app, when every permission row exists."""
    last = [config for config in apps.get_app_configs() if config.models_module][-1]
    if using == "default" and sender.label == last.label:
        roles_sync()
