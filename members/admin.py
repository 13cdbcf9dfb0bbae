from django.contrib import admin
from django.db.models import Count
from django.utils.translation import gettext_lazy as _

from .models import Member, MemberEvent, Message, Tag
from .timeline import member_timeline


class HasCustomerIdFilter(admin.SimpleListFilter):
    title = _("customer ID")
    parameter_name = "has_customer_id"

    def lookups(self, request, model_admin):
        return [("yes", _("Known")), ("no", _("Unknown"))]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.exclude(external_customer_id="")
        if self.value() == "no":
            return queryset.filter(external_customer_id="")
        return queryset


class MemberEventInline(admin.TabularInline):
    model = MemberEvent
    extra = 0
    fields = ("occurred_at", "kind", "name", "value", "properties")
    readonly_fields = fields
    ordering = ["-occurred_at"]
    show_change_link = False
    max_num = 0
    can_delete = False


@admin.register(Member)
class MemberAdmin(admin.ModelAdmin):
    change_form_template = "admin/members/member/change_form.html"
    list_display = (
        "__str__",
        "channel",
        "friend_status",
        "rank",
        "points",
        "external_customer_id",
        "message_count",
        "followed_at",
    )
    list_filter = ("channel", "friend_status", HasCustomerIdFilter, "rank", "tags", "gender")
    list_select_related = ("channel",)
    search_fields = ("display_name", "external_customer_id", "=line_user_id")
    autocomplete_fields = ("tags",)
    date_hierarchy = "followed_at"
    show_facets = admin.ShowFacets.ALWAYS
    inlines = [MemberEventInline]
    readonly_fields = (
        "channel",
        "line_user_id",
        "display_name",
        "picture_url",
        "status_message",
        "language",
        "friend_status",
        "first_followed_at",
        "followed_at",
        "blocked_at",
        "profile_refreshed_at",
        "created_at",
        "updated_at",
    )
    fieldsets = (
        (
            _("LINE profile"),
            {
                "fields": (
                    "channel",
                    "line_user_id",
                    "display_name",
                    "picture_url",
                    "status_message",
                    "language",
                )
            },
        ),
        (
            _("Friendship"),
            {
                "fields": (
                    "friend_status",
                    "first_followed_at",
                    "followed_at",
                    "blocked_at",
                    "profile_refreshed_at",
                )
            },
        ),
        (
            _("Customer data"),
            {
                "fields": (
                    "external_customer_id",
                    "gender",
                    "birthday",
                    "prefecture",
                    "rank",
                    "points",
                    "tags",
                    "attributes",
                )
            },
        ),
    )

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(_message_count=Count("messages"))

    @admin.display(description=_("messages"), ordering="_message_count")
    def message_count(self, member):
        return member._message_count

    def has_add_permission(self, request):
        return False  # Members come from LINE (follow, login) or the import API.

    def change_view(self, request, object_id, form_url="", extra_context=None):
        member = self.get_object(request, object_id)
        extra_context = {**(extra_context or {})}
        if member is not None:
            extra_context["timeline"] = member_timeline(member)
        return super().change_view(request, object_id, form_url, extra_context)


@admin.register(Tag)
class TagAdmin(admin.ModelAdmin):
    list_display = ("name", "channel", "member_count")
    list_filter = ("channel",)
    search_fields = ("name",)

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(_member_count=Count("members"))

    @admin.display(description=_("members"), ordering="_member_count")
    def member_count(self, tag):
        return tag._member_count


@admin.register(MemberEvent)
class MemberEventAdmin(admin.ModelAdmin):
    list_display = ("occurred_at", "member", "kind", "name", "value")
    list_filter = ("kind",)
    list_select_related = ("member",)
    search_fields = ("name", "member__display_name", "member__external_customer_id")
    date_hierarchy = "occurred_at"
    raw_id_fields = ("member",)


@admin.register(Message)
class MessageAdmin(admin.ModelAdmin):
    list_display = ("created_at", "member", "direction", "message_type", "text", "source", "status")
    list_filter = ("direction", "source", "status", "message_type", "channel")
    list_select_related = ("member",)
    search_fields = ("text", "member__display_name")
    date_hierarchy = "created_at"
    raw_id_fields = ("member",)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
from . import admin_segments  # noqa: E402, F401  (registers the segment and audience admin)
