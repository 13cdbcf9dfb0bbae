"""Admin for click tracking: read-only lists of tracked links and their clicks."""

from django.contrib import admin
from django.db.models import Count
from django.utils.translation import gettext_lazy as _

from .models import LinkClick, TrackedLink


class ReadOnlyAdmin(admin.ModelAdmin):
    """Rows written by sends and clicks only: staff look, nobody edits."""

    def get_readonly_fields(self, request, obj=None):
        return [field.name for field in self.model._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(TrackedLink)
class TrackedLinkAdmin(ReadOnlyAdmin):
    list_display = ("url", "source", "source_id", "member", "click_count", "created_at")
    list_filter = ("source", "member__channel")
    list_select_related = ("member",)
    search_fields = ("url", "=token", "=source_id", "member__display_name")
    date_hierarchy = "created_at"

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(click_count=Count("clicks"))

    @admin.display(description=_("clicks"), ordering="click_count")
    def click_count(self, link):
        return link.click_count


@admin.register(LinkClick)
class LinkClickAdmin(ReadOnlyAdmin):
    list_display = ("clicked_at", "member", "source", "source_id", "url")
    # The facet counts beside the filters are the clicks per source.
    list_filter = ("source", "member__channel")
    show_facets = admin.ShowFacets.ALWAYS
    list_select_related = ("member",)
    search_fields = ("url", "=source_id", "member__display_name", "=member__line_user_id")
    date_hierarchy = "clicked_at"
