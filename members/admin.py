from django.contrib import admin
from django.db.models import Count
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext_lazy as _

from linebot.models import Channel

from .linking import link_rate, member_unlink
from .models import LinkEvent, LinkMethod, LinkRateSnapshot, Member, MemberEvent, Message, Tag
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


class LinkedFilter(admin.SimpleListFilter):
    title = _("ID link")
    parameter_name = "linked"

    def lookups(self, request, model_admin):
        return [("yes", _("Linked")), ("no", _("Not linked")), *LinkMethod.choices]

    def queryset(self, request, queryset):
        active = {"link__isnull": False, "link__unlinked_at__isnull": True}
        if self.value() == "yes":
            return queryset.filter(**active)
        if self.value() == "no":
            return queryset.exclude(**active)
        if self.value() in LinkMethod.values:
            return queryset.filter(**active, link__method=self.value())
        return queryset


class HistoryInline(admin.TabularInline):
    """A read-only list of what happened; history is recorded by the app, not typed in."""

    extra = 0
    max_num = 0
    can_delete = False

    def get_readonly_fields(self, request, obj=None):
        return self.fields


class LinkEventInline(HistoryInline):
    model = LinkEvent
    fk_name = "member"
    fields = ("created_at", "action", "method", "user", "by_staff", "reason")
    verbose_name_plural = _("ID link history")


class MemberEventInline(HistoryInline):
    model = MemberEvent
    fields = ("occurred_at", "kind", "name", "value", "properties")
    ordering = ["-occurred_at"]


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
        "link_method",
        "message_count",
        "followed_at",
    )
    list_filter = (
        "channel",
        "friend_status",
        LinkedFilter,
        HasCustomerIdFilter,
        "rank",
        "tags",
        "gender",
    )
    list_select_related = ("channel", "link")
    change_list_template = "admin/members/member/change_list.html"
    actions = ["unlink"]
    search_fields = ("display_name", "external_customer_id", "=line_user_id")
    autocomplete_fields = ("tags",)
    date_hierarchy = "followed_at"
    show_facets = admin.ShowFacets.ALWAYS
    inlines = [MemberEventInline, LinkEventInline]
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
        "link_summary",
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
        (_("ID link"), {"fields": ("link_summary", "marketing_opted_out_at")}),
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

    @admin.display(description=_("ID link"), ordering="link__method")
    def link_method(self, member):
        link = getattr(member, "link", None)
        return link.get_method_display() if link and link.is_active else "-"

    @admin.display(description=_("ID link"))
    def link_summary(self, member):
        link = getattr(member, "link", None)
        if not link or not link.is_active:
            return _("Not linked")
        return _("%(user)s, by %(method)s, since %(when)s") % {
            "user": link.user,
            "method": link.get_method_display(),
            "when": date_format(timezone.localtime(link.linked_at), "Y-m-d H:i"),
        }

    @admin.action(description=_("Unlink the selected members' ID links"), permissions=["change"])
    def unlink(self, request, queryset):
        count = sum(
            member_unlink(member=member, by_staff=request.user, reason="by staff")
            for member in queryset
        )
        self.message_user(request, _("%(count)d member(s) unlinked.") % {"count": count})

    def changelist_view(self, request, extra_context=None):
        channels = Channel.objects.active()
        rates = []
        for channel in channels:
            friends, linked = link_rate(channel)
            history = list(LinkRateSnapshot.objects.filter(channel=channel)[:30])[::-1]
            rates.append(
                {
                    "channel": channel,
                    "friends": friends,
                    "linked": linked,
                    "rate": linked / friends if friends else 0,
                    "history": history,
                }
            )
        extra_context = {**(extra_context or {}), "link_rates": rates}
        return super().changelist_view(request, extra_context)

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


# The segment, audience and rich-menu admin live in modules of their own.
from . import admin_richmenus, admin_segments, admin_tracking  # noqa: E402, F401
