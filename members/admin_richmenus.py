"""Admin for per-segment rich menus: rules, re-evaluations with their progress, members' menus
and the tap log (with counts per menu and per area in the filters)."""

from django.contrib import admin, messages
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from linebot.models import Channel

from .models import MemberRichMenu, RichMenuRelink, RichMenuRelinkStatus, RichMenuRule, RichMenuTap
from .richmenus import relink_start


def progress_bar(relink: RichMenuRelink | None):
    if relink is None:
        return "—"
    return format_html(
        '<progress class="richmenu-relink" value="{}" max="100" title="{}"></progress> {}% · {}',
        relink.percent,
        relink.get_status_display(),
        relink.percent,
        relink.get_status_display(),
    )


@admin.register(RichMenuRule)
class RichMenuRuleAdmin(admin.ModelAdmin):
    list_display = (
        "__str__",
        "priority",
        "segment_or_default",
        "rich_menu",
        "is_active",
        "channel",
        "last_relink",
    )
    list_display_links = ("__str__",)
    list_editable = ("priority", "is_active")
    list_filter = ("channel", "is_active", "rich_menu")
    list_select_related = ("channel", "segment", "rich_menu")
    search_fields = ("segment__name", "rich_menu__name")
    autocomplete_fields = ("segment", "rich_menu", "channel")
    ordering = ("channel", "priority", "id")
    actions = ["relink_now"]
    fields = ("channel", "priority", "segment", "rich_menu", "is_active")

    @admin.display(description=_("segment"), ordering="segment__name")
    def segment_or_default(self, rule):
        return rule.segment or _("Everyone else (channel default)")

    def get_changelist_instance(self, request):
        changelist = super().get_changelist_instance(request)
        channel_ids = {rule.channel_id for rule in changelist.result_list}
        self._last_relinks = {}
        for relink in RichMenuRelink.objects.filter(channel_id__in=channel_ids):
            self._last_relinks.setdefault(relink.channel_id, relink)  # newest first
        return changelist

    @admin.display(description=_("last re-evaluation"))
    def last_relink(self, rule):
        return progress_bar(getattr(self, "_last_relinks", {}).get(rule.channel_id))

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        self.message_user(
            request,
            _("Members of %(channel)s are being re-evaluated: see Rich menu re-evaluations.")
            % {"channel": obj.channel},
        )

    @admin.action(
        description=_("Re-evaluate every member of these channels now"), permissions=["change"]
    )
    def relink_now(self, request, queryset):
        channels = Channel.objects.filter(rich_menu_rules__in=queryset).distinct()
        for channel in channels:
            relink_start(channel, requested_by=request.user)
        self.message_user(
            request,
            ngettext(
                "Re-evaluation of %(count)d channel queued.",
                "Re-evaluation of %(count)d channels queued.",
                len(channels),
            )
            % {"count": len(channels)},
            messages.SUCCESS,
        )


@admin.register(RichMenuRelink)
class RichMenuRelinkAdmin(admin.ModelAdmin):
    list_display = (
        "created_at",
        "channel",
        "status",
        "progress",
        "done",
        "total",
        "unchanged",
        "requests",
        "started_at",
        "finished_at",
        "error_summary",
    )
    list_filter = ("status", "channel")
    list_select_related = ("channel",)
    date_hierarchy = "created_at"
    readonly_fields = [field.name for field in RichMenuRelink._meta.fields] + ["progress"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    @admin.display(description=_("progress"))
    def progress(self, relink):
        return progress_bar(relink)

    @admin.display(description=_("error"))
    def error_summary(self, relink):
        return relink.error.splitlines()[0][:120] if relink.error else ""

    def changelist_view(self, request, extra_context=None):
        running = RichMenuRelink.objects.filter(
            status__in=(RichMenuRelinkStatus.PENDING, RichMenuRelinkStatus.RUNNING)
        ).exists()
        response = super().changelist_view(request, extra_context)
        if running:
            # Progress moves on its own: refresh the page while a re-evaluation runs.
            response["Refresh"] = "5"
        return response


@admin.register(MemberRichMenu)
class MemberRichMenuAdmin(admin.ModelAdmin):
    list_display = (
        "member",
        "rich_menu",
        "linked",
        "switched_by_tap",
        "rule",
        "applied_at",
        "error",
    )
    list_filter = ("rich_menu", "linked", "switched_by_tap", "member__channel")
    list_select_related = ("member", "rich_menu", "rule", "rule__segment", "rule__rich_menu")
    search_fields = ("member__display_name", "=member__line_user_id")
    show_facets = admin.ShowFacets.ALWAYS
    readonly_fields = [field.name for field in MemberRichMenu._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(RichMenuTap)
class RichMenuTapAdmin(admin.ModelAdmin):
    list_display = ("tapped_at", "member", "rich_menu", "area", "data")
    # The facet counts beside these filters are the taps per menu and per area.
    list_filter = ("rich_menu", "area", "member__channel")
    show_facets = admin.ShowFacets.ALWAYS
    list_select_related = ("member", "rich_menu")
    search_fields = ("member__display_name", "=member__line_user_id", "data")
    date_hierarchy = "tapped_at"
    readonly_fields = [field.name for field in RichMenuTap._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
