"""Admin for step sequences (steps inline, timeline preview, members at each step), their
enrollments (stop and restart, also from the member's page), and trigger rules."""

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Q
from django.http import HttpResponseNotAllowed, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.urls import path, reverse
from django.utils import formats
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from members.admin import MemberAdmin

from .clock import clock_now
from .models import (
    Enrollment,
    EnrollmentStatus,
    Otherwise,
    Sequence,
    Step,
    StepSend,
    TriggerRule,
    TriggerSend,
)
from .sequences import enrollment_restart, enrollment_stop, timeline_preview


def _condition_text(step: Step) -> str:
    """The step's condition and what members outside it get, as the timeline shows it."""
    if step.condition_segment is None:
        return "-"
    if step.otherwise == Otherwise.END:
        otherwise = gettext("otherwise the sequence ends")
    elif step.otherwise == Otherwise.GOTO:
        otherwise = gettext("otherwise on to step %(position)s") % {
            "position": step.otherwise_position
        }
    else:
        otherwise = gettext("otherwise skipped")
    return f"{step.condition_segment} ({otherwise})"


class StepInline(admin.TabularInline):
    model = Step
    extra = 0
    ordering = ["position"]
    autocomplete_fields = ["template", "condition_segment"]
    fields = [
        "position",
        "delay_value",
        "delay_unit",
        "at_time",
        "window_start",
        "window_end",
        "condition_segment",
        "otherwise",
        "otherwise_position",
        "template",
    ]


@admin.register(Sequence)
class SequenceAdmin(admin.ModelAdmin):
    list_display = ["name", "channel", "trigger", "is_active", "active_count", "completed_count"]
    list_filter = ["channel", "trigger", "is_active"]
    search_fields = ["name", "description"]
    autocomplete_fields = ["trigger_tag", "trigger_segment", "entry_segment", "exit_segment"]
    inlines = [StepInline]
    readonly_fields = ["timeline", "members_at_each_step"]
    fieldsets = [
        (None, {"fields": ["channel", "name", "description", "is_active"]}),
        (
            _("Trigger"),
            {
                "fields": [
                    "trigger",
                    "trigger_tag",
                    "trigger_event_kind",
                    "trigger_event_name",
                    "trigger_event_filter",
                    "trigger_segment",
                    "entry_segment",
                    "reentry",
                ]
            },
        ),
        (
            _("Exit conditions"),
            {
                "fields": [
                    "exit_event_kind",
                    "exit_event_name",
                    "exit_event_filter",
                    "exit_segment",
                    "exit_on_block",
                    "exit_on_opt_out",
                ]
            },
        ),
        (_("Timeline"), {"fields": ["timeline", "members_at_each_step"]}),
    ]

    def get_queryset(self, request):
        active = Count("enrollments", filter=Q(enrollments__status=EnrollmentStatus.ACTIVE))
        done = Count("enrollments", filter=Q(enrollments__status=EnrollmentStatus.COMPLETED))
        return (
            super()
            .get_queryset(request)
            .select_related("channel")
            .annotate(active_total=active, completed_total=done)
        )

    @admin.display(description=_("in the sequence"), ordering="active_total")
    def active_count(self, obj):
        return obj.active_total

    @admin.display(description=_("completed"), ordering="completed_total")
    def completed_count(self, obj):
        return obj.completed_total

    @admin.display(description=_("what a member entering now gets, and when"))
    def timeline(self, obj):
        if obj.pk is None:
            return "-"
        start = clock_now()
        rows = timeline_preview(obj, start=start)
        if not rows:
            return gettext("No steps yet.")
        return format_html(
            "<table><tr><th>#</th><th>{}</th><th>{}</th><th>{}</th></tr>{}</table>",
            gettext("when (Japan time)"),
            gettext("message template"),
            gettext("only for"),
            format_html_join(
                "",
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                (
                    (
                        step.position,
                        formats.date_format(at, "Y-m-d (D) H:i"),
                        step.template,
                        _condition_text(step),
                    )
                    for step, at in rows
                ),
            ),
        )

    @admin.display(description=_("members waiting for each step"))
    def members_at_each_step(self, obj):
        if obj.pk is None:
            return "-"
        counts = dict(
            Enrollment.objects.filter(sequence=obj, status=EnrollmentStatus.ACTIVE)
            .values_list("current_step")
            .annotate(total=Count("id"))
        )
        url = reverse("admin:journeys_enrollment_changelist")
        return format_html_join(
            "",
            '<div>#{} {}: <a href="{}?sequence__id__exact={}&amp;current_step__id__exact={}'
            '&amp;status__exact=active">{}</a></div>',
            (
                (step.position, step.template, url, obj.pk, step.pk, counts.get(step.pk, 0))
                for step in obj.steps.select_related("template").order_by("position")
            ),
        )


class StepSendInline(admin.TabularInline):
    model = StepSend
    extra = 0
    can_delete = False
    fields = ["step", "status", "reason", "sent_at", "error", "retry_key"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


def _may_change(request) -> bool:
    return request.user.has_perm("journeys.change_enrollment")


@admin.register(Enrollment)
class EnrollmentAdmin(admin.ModelAdmin):
    list_display = ["member", "sequence", "status", "current_step", "next_due_at", "enrolled_at"]
    list_filter = ["status", "sequence", "current_step"]
    list_select_related = ["member", "sequence", "current_step__template"]
    search_fields = ["member__display_name", "member__line_user_id", "sequence__name"]
    date_hierarchy = "enrolled_at"
    actions = ["stop_selected", "restart_selected"]
    inlines = [StepSendInline]
    readonly_fields = [
        "member",
        "sequence",
        "status",
        "current_step",
        "step_position",
        "next_due_at",
        "data",
        "trigger_event",
        "exit_reason",
        "attempts",
        "enrolled_at",
        "finished_at",
    ]

    def has_add_permission(self, request):
        return False

    @admin.action(description=_("Stop the selected enrollments"), permissions=["change"])
    def stop_selected(self, request, queryset):
        stopped = sum(enrollment_stop(row) for row in queryset)
        self.message_user(request, gettext("%(count)d stopped.") % {"count": stopped})

    @admin.action(description=_("Restart from the first step"), permissions=["change"])
    def restart_selected(self, request, queryset):
        for row in queryset.select_related("sequence"):
            enrollment_restart(row)
        self.message_user(request, gettext("%(count)d restarted.") % {"count": queryset.count()})

    def get_urls(self):
        return [
            path(
                "<int:pk>/stop/",
                self.admin_site.admin_view(self.stop_view),
                name="journeys_enrollment_stop",
            ),
            path(
                "<int:pk>/restart/",
                self.admin_site.admin_view(self.restart_view),
                name="journeys_enrollment_restart",
            ),
            *super().get_urls(),
        ]

    def _act(self, request, pk, action, done):
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        if not _may_change(request):
            raise PermissionDenied
        enrollment = get_object_or_404(Enrollment.objects.select_related("sequence"), pk=pk)
        action(enrollment)
        messages.success(request, done % {"sequence": enrollment.sequence})
        back = reverse("admin:members_member_change", args=[enrollment.member_id])
        return HttpResponseRedirect(back)

    def stop_view(self, request, pk):
        return self._act(request, pk, enrollment_stop, gettext("Stopped: %(sequence)s."))

    def restart_view(self, request, pk):
        return self._act(request, pk, enrollment_restart, gettext("Restarted: %(sequence)s."))


class MemberEnrollmentInline(admin.TabularInline):
    """The member's step sequences on their page, with "stop" and "restart"."""

    model = Enrollment
    extra = 0
    can_delete = False
    verbose_name_plural = _("step sequences")
    fields = ["sequence", "status", "current_step", "next_due_at", "enrolled_at", "buttons"]
    readonly_fields = fields
    ordering = ["-enrolled_at"]

    def has_add_permission(self, request, obj=None):
        return False

    @admin.display(description="")
    def buttons(self, obj):
        if obj.pk is None:
            return ""
        # The buttons post the member form (and its CSRF token) to the enrollment's own URL.
        stop = format_html(
            '<button type="submit" class="button" formmethod="post" formaction="{}" '
            "formnovalidate>{}</button> ",
            reverse("admin:journeys_enrollment_stop", args=[obj.pk]),
            gettext("Stop"),
        )
        restart = format_html(
            '<button type="submit" class="button" formmethod="post" formaction="{}" '
            "formnovalidate>{}</button>",
            reverse("admin:journeys_enrollment_restart", args=[obj.pk]),
            gettext("Restart"),
        )
        return format_html("{}{}", stop if obj.status == EnrollmentStatus.ACTIVE else "", restart)


# members must not import journeys, so journeys adds its inline to the member page.
MemberAdmin.inlines = [*MemberAdmin.inlines, MemberEnrollmentInline]


@admin.register(TriggerRule)
class TriggerRuleAdmin(admin.ModelAdmin):
    list_display = ["name", "channel", "kind", "event_kind", "is_active", "sent_count"]
    list_filter = ["channel", "kind", "is_active"]
    search_fields = ["name", "event_name"]
    autocomplete_fields = ["template"]

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .annotate(sent_total=Count("sends", filter=Q(sends__status="sent")))
        )

    @admin.display(description=_("sent"), ordering="sent_total")
    def sent_count(self, obj):
        return obj.sent_total


@admin.register(TriggerSend)
class TriggerSendAdmin(admin.ModelAdmin):
    list_display = ["rule", "member", "status", "reason", "due_at", "sent_at"]
    list_filter = ["status", "rule"]
    list_select_related = ["rule", "member"]
    search_fields = ["member__display_name", "rule__name", "cause"]
    date_hierarchy = "due_at"

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
