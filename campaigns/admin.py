import json

from django.contrib import admin
from django.contrib.messages import ERROR, WARNING
from django.core.exceptions import PermissionDenied
from django.db.models import Q
from django.http import Http404, HttpResponseNotAllowed, HttpResponseRedirect, JsonResponse
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import formats, timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from linebot.validation import problem_text
from members.models import Member, MessageStatus

from .abtests import ab_results
from .delivery import (
    campaign_cancel,
    campaign_is_personalized,
    campaign_pause,
    campaign_quota_check,
    campaign_recipients,
    campaign_results,
    campaign_resume,
    campaign_schedule,
    campaign_schedule_recurring,
    campaign_send,
    campaign_unschedule,
    campaign_uses_narrowcast,
)
from .flex_library import STARTERS
from .frequency import quiet_hours_end
from .message_templates import (
    TemplateTestError,
    draft_check,
    draft_parse,
    template_test_recipients,
    template_test_send,
)
from .models import (
    AutoReply,
    Campaign,
    CampaignStatus,
    CampaignVariant,
    MessageTemplate,
    SendingPolicy,
)

EDITOR_URLS = "admin:campaigns_messagetemplate"


def _editor_config(request, *, personalized: bool) -> dict:
    """What the messages editor's script needs: endpoints, starters, recipients, texts."""
    recipients = template_test_recipients(request.user)[:200]
    return {
        "checkUrl": reverse(f"{EDITOR_URLS}_check"),
        "membersUrl": reverse(f"{EDITOR_URLS}_members"),
        "sendTestUrl": reverse(f"{EDITOR_URLS}_send_test"),
        "personalized": personalized,
        "starters": [starter.as_dict() for starter in STARTERS],
        "recipients": [{"id": member.pk, "label": _member_label(member)} for member in recipients],
        "texts": {
            "help": gettext(
                "Variables: {{ member.display_name }}, {{ member.points }}, "
                '{{ member.rank }}, {{ attributes.key | default:"…" }}, '
                "{{ data.product_name }}"
            ),
            "valid": gettext("No problems: LINE will accept these messages."),
            "problems": gettext("Problems LINE would report:"),
            "checking": gettext("Checking…"),
            "sent": gettext("Test sent."),
            "replace": gettext("Replace the messages with this design?"),
            "full": gettext("A template holds at most 5 messages."),
            "failed": gettext("The check could not be run. Try again."),
        },
    }


class MessagesEditorMixin:
    """The live messages editor (check as you type, phone preview, tests) on a `messages` field."""

    change_form_template = "admin/campaigns/messagetemplate/change_form.html"
    # Whether sends fill in {{ variables }}; if not, the editor shows messages as written.
    messages_personalized = True

    class Media:
        css = {"all": ("linebot/preview.css", "campaigns/template_editor.css")}
        js = ("campaigns/template_editor.js",)

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        field = super().formfield_for_dbfield(db_field, request, **kwargs)
        if db_field.name == "messages":
            field.widget.attrs.update(
                {"class": "template-json", "rows": 30, "spellcheck": "false", "cols": 60}
            )
        return field

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        config = _editor_config(request, personalized=self.messages_personalized)
        extra_context = {**(extra_context or {}), "editor_config": config}
        return super().changeform_view(request, object_id, form_url, extra_context)


@admin.register(AutoReply)
class AutoReplyAdmin(MessagesEditorMixin, admin.ModelAdmin):
    messages_personalized = False  # auto-replies are sent as written
    list_display = ("name", "channel", "trigger", "match_type", "priority", "is_active")
    list_filter = ("channel", "trigger", "is_active")
    list_editable = ("priority", "is_active")
    search_fields = ("name", "keywords")
    fields = (
        "channel",
        "name",
        "trigger",
        "match_type",
        "keywords",
        "priority",
        ("active_from", "active_until"),
        "messages",
        "is_active",
    )


@admin.register(MessageTemplate)
class MessageTemplateAdmin(MessagesEditorMixin, admin.ModelAdmin):
    """Templates with a live editor: JSON checked as you type, a phone preview, tests."""

    list_display = ("name", "channel", "types", "updated_at", "created_by")
    list_filter = ("channel",)
    list_select_related = ("channel", "created_by")
    search_fields = ("name", "description")
    date_hierarchy = "updated_at"
    readonly_fields = ("created_by", "created_at", "updated_at")
    fields = (
        "name",
        "channel",
        "description",
        "messages",
        "created_by",
        "created_at",
        "updated_at",
    )

    actions = ["duplicate"]
    show_facets = admin.ShowFacets.ALWAYS

    @admin.action(description=_("Duplicate selected message templates"))
    def duplicate(self, request, queryset):
        copies = [
            MessageTemplate(
                name=gettext("Copy of %(name)s") % {"name": template.name},
                channel_id=template.channel_id,
                description=template.description,
                messages=template.messages,
                created_by=request.user,
            )
            for template in queryset
        ]
        MessageTemplate.objects.bulk_create(copies)
        self.message_user(request, gettext("%(count)d templates copied.") % {"count": len(copies)})

    @admin.display(description=_("messages"))
    def types(self, obj: MessageTemplate) -> str:
        return ", ".join(obj.message_types)

    def save_model(self, request, obj, form, change):
        if not change and obj.created_by_id is None:
            obj.created_by = request.user
        super().save_model(request, obj, form, change)

    def get_urls(self):
        view = self.admin_site.admin_view
        prefix = f"{self.opts.app_label}_{self.opts.model_name}"
        return [
            path("editor/check/", view(self.check_view), name=f"{prefix}_check"),
            path("editor/members/", view(self.members_view), name=f"{prefix}_members"),
            path("editor/send-test/", view(self.send_test_view), name=f"{prefix}_send_test"),
            *super().get_urls(),
        ]

    def _json_body(self, request) -> dict:
        try:
            body = json.loads(request.body or b"{}")
        except ValueError:
            return {}
        return body if isinstance(body, dict) else {}

    def _member(self, request, member_id) -> Member | None:
        if not member_id:
            return None
        return Member.objects.filter(pk=member_id).first()

    def check_view(self, request):
        """POST {text, member, data}: the draft's syntax error or problems, and its preview."""
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        if not self.has_view_or_change_permission(request):
            raise PermissionDenied
        body = self._json_body(request)
        data = body.get("data") if isinstance(body.get("data"), dict) else None
        member = self._member(request, body.get("member"))
        if member is not None and not request.user.has_perm("members.view_member"):
            raise PermissionDenied
        check = draft_check(
            str(body.get("text", "")),
            member=member,
            data=data,
            personalized=body.get("personalized") is not False,
        )
        return JsonResponse(check.as_json())

    def members_view(self, request):
        """GET ?q=: members to preview as, matched by name, customer ID or LINE user ID."""
        if not request.user.has_perm("members.view_member"):
            raise PermissionDenied
        query = request.GET.get("q", "").strip()
        members = Member.objects.select_related("channel").order_by("display_name", "pk")
        if channel := request.GET.get("channel", "").strip():
            members = members.filter(channel_id=channel) if channel.isdigit() else members.none()
        if query:
            members = members.filter(
                Q(display_name__icontains=query)
                | Q(external_customer_id__iexact=query)
                | Q(line_user_id=query)
            )
        results = [{"id": member.pk, "label": _member_label(member)} for member in members[:20]]
        return JsonResponse({"results": results})

    def send_test_view(self, request):
        """POST {text, recipient, data}: send the draft, personalised, to one test recipient."""
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        if not self.has_change_permission(request) and not self.has_add_permission(request):
            raise PermissionDenied
        body = self._json_body(request)
        messages, syntax_error = draft_parse(str(body.get("text", "")))
        if syntax_error:
            return JsonResponse({"error": syntax_error["message"], "problems": []}, status=400)
        recipient = self._member(request, body.get("recipient"))
        if recipient is None:
            return JsonResponse(
                {"error": gettext("Choose who gets the test."), "problems": []}, status=400
            )
        data = body.get("data") if isinstance(body.get("data"), dict) else None
        try:
            rows = template_test_send(
                messages=messages,
                member=recipient,
                user=request.user,
                data=data,
                personalized=body.get("personalized") is not False,
            )
        except TemplateTestError as error:
            problems = [{"path": p.path, "message": problem_text(p)} for p in error.problems]
            return JsonResponse({"error": str(error), "problems": problems}, status=400)
        failed = [row.error for row in rows if row.status == MessageStatus.FAILED]
        if failed:
            return JsonResponse({"error": failed[0], "problems": []}, status=502)
        return JsonResponse(
            {
                "sent": len(rows),
                "message": gettext("Test sent to %(name)s.") % {"name": _member_label(recipient)},
            }
        )


def _api_label(campaign: Campaign) -> str:
    if campaign_is_personalized(campaign):
        return gettext("push, one request per member")
    if campaign_uses_narrowcast(campaign):
        return gettext("narrowcast to the recipients uploaded as a LINE audience")
    return gettext("multicast, up to 500 members a request")


def _member_label(member: Member) -> str:
    name = member.display_name or member.line_user_id
    return f"{name} ({member.channel.name})"


class CampaignVariantInline(admin.TabularInline):
    model = CampaignVariant
    extra = 0
    autocomplete_fields = ("template",)
    fields = ("name", "template", "weight")
    verbose_name_plural = _("A/B variants (each member gets one; empty: the template above)")


@admin.register(Campaign)
class CampaignAdmin(admin.ModelAdmin):
    """Campaigns: recipient preview, confirm and send, live progress, pause/resume/cancel."""

    change_form_template = "admin/campaigns/campaign/change_form.html"
    list_display = ("name", "channel", "status", "when", "progress", "created_at")
    list_filter = ("status", "channel")
    list_select_related = ("channel", "template")
    search_fields = ("name",)
    date_hierarchy = "created_at"
    autocomplete_fields = ("template",)
    filter_horizontal = ("segments", "excluded_segments")
    show_facets = admin.ShowFacets.ALWAYS
    inlines = [CampaignVariantInline]
    readonly_fields = (
        "status",
        "recipient_preview",
        "total_count",
        "sent_count",
        "failed_count",
        "skipped_count",
        "started_at",
        "finished_at",
        "created_by",
        "created_at",
    )
    fieldsets = (
        (None, {"fields": ("channel", "name", "template", "status")}),
        (
            _("When"),
            {"fields": ("scheduled_at", "crontab", "respect_quiet_hours")},
        ),
        (
            _("Recipients"),
            {
                "fields": (
                    "all_friends",
                    "segments",
                    "excluded_segments",
                    "apply_frequency_cap",
                    "recipient_preview",
                )
            },
        ),
        (
            _("A/B test, clicks and narrowcast"),
            {"fields": ("holdout_percent", "track_clicks", "use_narrowcast")},
        ),
        (
            _("Progress"),
            {
                "fields": (
                    ("total_count", "sent_count", "failed_count", "skipped_count"),
                    ("started_at", "finished_at"),
                    ("created_by", "created_at"),
                )
            },
        ),
    )

    @admin.display(description=_("progress"))
    def progress(self, obj: Campaign) -> str:
        if not obj.total_count:
            return "—"
        done = obj.sent_count + obj.failed_count + obj.skipped_count
        return f"{done * 100 // obj.total_count}%"

    @admin.display(description=_("when"), ordering="scheduled_at")
    def when(self, obj: Campaign) -> str:
        if obj.crontab:
            return gettext("Repeats: %(crontab)s") % {"crontab": obj.crontab}
        if obj.scheduled_at:
            return formats.localize(timezone.localtime(obj.scheduled_at))
        return "—"

    @admin.display(description=_("recipients now"))
    def recipient_preview(self, obj: Campaign) -> str:
        if obj.pk is None:
            return gettext("Save the campaign to count its recipients.")
        return gettext("%(count)d members would receive it now.") % {
            "count": campaign_recipients(obj).count()
        }

    def save_model(self, request, obj, form, change):
        if not change and obj.created_by_id is None:
            obj.created_by = request.user
        if change:
            # Only what the form edits: status, counts and beat tasks move under a running send.
            editable = [f.name for f in obj._meta.concrete_fields if f.name in form.fields]
            obj.save(update_fields=[*editable, "updated_at"])
        else:
            super().save_model(request, obj, form, change)
        changed = set(form.changed_data)
        if obj.status in (CampaignStatus.DONE, CampaignStatus.CANCELLED):
            return
        if obj.crontab and changed & {"crontab", "scheduled_at"}:
            campaign_schedule_recurring(obj)
        elif "scheduled_at" in changed or "crontab" in changed:
            if obj.scheduled_at and obj.status in (
                CampaignStatus.DRAFT,
                CampaignStatus.SCHEDULED,
            ):
                campaign_schedule(obj, at=obj.scheduled_at)
            elif obj.scheduled_at is None:
                campaign_unschedule(obj)

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        extra_context = extra_context or {}
        campaign = Campaign.objects.filter(pk=object_id).first() if object_id else None
        if campaign is not None:
            extra_context["results"] = campaign_results(campaign)
            extra_context["runs"] = campaign.runs.order_by("-number")[:20]
            if campaign.holdout_percent or campaign.variants.exists():
                extra_context["ab_results"] = ab_results(campaign)
        return super().changeform_view(request, object_id, form_url, extra_context)

    def get_urls(self):
        view = self.admin_site.admin_view
        prefix = f"{self.opts.app_label}_{self.opts.model_name}"
        return [
            path("<int:pk>/send/", view(self.send_view), name=f"{prefix}_send"),
            path("<int:pk>/progress/", view(self.progress_view), name=f"{prefix}_progress"),
            path("<int:pk>/control/", view(self.control_view), name=f"{prefix}_control"),
            *super().get_urls(),
        ]

    def _campaign(self, request, pk, *, change: bool) -> Campaign:
        campaign = Campaign.objects.select_related("channel", "template").filter(pk=pk).first()
        if campaign is None:
            raise Http404
        allowed = (
            self.has_change_permission(request, campaign)
            if change
            else self.has_view_or_change_permission(request, campaign)
        )
        if not allowed:
            raise PermissionDenied
        return campaign

    def send_view(self, request, pk):
        """Confirm and send: the recipient count against the channel's remaining quota."""
        campaign = self._campaign(request, pk, change=True)
        change_url = reverse("admin:campaigns_campaign_change", args=[campaign.pk])
        check = campaign_quota_check(campaign)
        if request.method == "POST":
            up_to_quota = request.POST.get("up_to_quota") == "1"
            if check.over_quota and not (up_to_quota and check.remaining):
                self.message_user(
                    request,
                    gettext(
                        "Not sent: %(count)d recipients, but only %(remaining)d messages "
                        "are left in this month's quota."
                    )
                    % {"count": check.recipients, "remaining": check.remaining},
                    level=ERROR,
                )
            else:
                limit = check.remaining if check.over_quota else None
                start = campaign_send(campaign, send_limit=limit)
                if start.outcome == "deferred":
                    self.message_user(
                        request,
                        gettext("Quiet hours: the campaign will be sent at %(time)s.")
                        % {"time": formats.localize(timezone.localtime(start.until))},
                        level=WARNING,
                    )
                elif start.outcome == "refused":
                    self.message_user(
                        request, gettext("The campaign cannot be sent now."), level=WARNING
                    )
                elif limit is not None:
                    self.message_user(
                        request,
                        gettext(
                            "The campaign is being sent to %(limit)d of %(count)d recipients; "
                            "the others are skipped (quota)."
                        )
                        % {"limit": limit, "count": check.recipients},
                    )
                else:
                    self.message_user(request, gettext("The campaign is being sent."))
                return HttpResponseRedirect(change_url)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": gettext("Send %(name)s") % {"name": campaign.name},
            "campaign": campaign,
            "check": check,
            "api": _api_label(campaign),
            "can_send": campaign.status in (CampaignStatus.DRAFT, CampaignStatus.SCHEDULED),
            "quiet_until": quiet_hours_end(campaign.channel_id, timezone.now()),
            "change_url": change_url,
        }
        return TemplateResponse(request, "admin/campaigns/campaign/send_confirm.html", context)

    def progress_view(self, request, pk):
        """GET: the counts the progress bar shows, as JSON."""
        campaign = self._campaign(request, pk, change=False)
        return JsonResponse(
            {
                "status": campaign.status,
                "statusLabel": campaign.get_status_display(),
                "total": campaign.total_count,
                "sent": campaign.sent_count,
                "failed": campaign.failed_count,
                "skipped": campaign.skipped_count,
                "remaining": campaign.remaining_count,
            }
        )

    def control_view(self, request, pk):
        """POST action=pause|resume|cancel."""
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        campaign = self._campaign(request, pk, change=True)
        actions = {"pause": campaign_pause, "resume": campaign_resume, "cancel": campaign_cancel}
        action = actions.get(request.POST.get("action", ""))
        if action is None or not action(campaign):
            self.message_user(request, gettext("The campaign cannot do that now."), level=WARNING)
        return HttpResponseRedirect(reverse("admin:campaigns_campaign_change", args=[campaign.pk]))


@admin.register(SendingPolicy)
class SendingPolicyAdmin(admin.ModelAdmin):
    """Per channel: the marketing frequency cap and the quiet hours."""

    list_display = (
        "channel",
        "frequency_cap_count",
        "frequency_cap_days",
        "quiet_hours_start",
        "quiet_hours_end",
        "updated_at",
    )
    list_select_related = ("channel",)
    fieldsets = (
        (None, {"fields": ("channel",)}),
        (_("Frequency cap"), {"fields": (("frequency_cap_count", "frequency_cap_days"),)}),
        (_("Quiet hours"), {"fields": (("quiet_hours_start", "quiet_hours_end"),)}),
    )
