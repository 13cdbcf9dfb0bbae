"""Admin for segments and audiences (imported by members.admin).

The segment change form edits the rule JSON with a rule builder (``segment_builder.js``); while
staff edit, the builder asks ``preview/`` for the count, a sample and the summary sentence.
"""

import json

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.http import HttpResponseNotAllowed, JsonResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404
from django.urls import path, reverse
from django.utils import timezone
from django.utils.formats import number_format
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from linebot.models import Channel, RichMenu

from .audiences import MAX_UPLOAD_BYTES, audience_import, audience_match
from .models import (
    Audience,
    EventKind,
    FriendStatus,
    Gender,
    LinkMethod,
    Prefecture,
    Rank,
    Segment,
    Tag,
)
from .segment_export import segment_export_csv_lines
from .segments import (
    CONDITION_TYPES,
    RICH_MENU_AREAS,
    segment_count,
    segment_first_page,
    segment_queryset,
    segment_session,
    segment_summary,
    segment_validate,
    segments_using,
)


def _used_by(using) -> list[str]:
    """What the delete page lists as protected: the segments whose rules still need it."""
    return [
        format_html("{}: {}", gettext("Used in the rules of segment"), segment.name)
        for segment in using
    ]


PREVIEW_SAMPLE = 10
PREVIEW_TIMEOUT_MS = 15000


class SegmentForm(forms.ModelForm):
    class Meta:
        model = Segment
        fields = ("channel", "name", "description", "definition")
        widgets = {"definition": forms.Textarea(attrs={"rows": 8, "class": "vLargeTextField"})}


def _rich_menu_options() -> list[dict]:
    """The rich menus the builder offers, each with its areas (numbered from 1, labelled by
    the area's action label when it has one)."""
    options = []
    for menu in RichMenu.objects.only("pk", "name", "channel_id", "areas").order_by("name", "pk"):
        areas = menu.areas if isinstance(menu.areas, list) else []
        labels = []
        for index, area in enumerate(areas[:RICH_MENU_AREAS], start=1):
            action = area.get("action") if isinstance(area, dict) else None
            label = action.get("label") if isinstance(action, dict) else None
            if label:
                text = gettext("area %(n)s (%(label)s)") % {"n": index, "label": label}
            else:
                text = gettext("area %(n)s") % {"n": index}
            labels.append({"value": index, "label": text})
        options.append(
            {"value": menu.pk, "label": menu.name, "channel": menu.channel_id, "areas": labels}
        )
    return options


def _builder_options() -> dict:
    """Everything the rule builder offers, with labels in the staff member's language."""

    def choices(items):
        return [{"value": value, "label": str(label)} for value, label in items]

    return {
        "types": choices(CONDITION_TYPES.items()),
        "genders": choices(Gender.choices),
        "ranks": choices(Rank.choices),
        "prefectures": choices(Prefecture.choices),
        "friendStatuses": choices(FriendStatus.choices),
        "linkMethods": choices(LinkMethod.choices),
        "eventKinds": choices(EventKind.choices),
        "languages": choices(
            [*settings.LANGUAGES, ("zh-Hant", "中文(繁體)"), ("th", "ไทย"), ("ko", "한국어")]
        ),
        "months": [{"value": m, "label": str(m)} for m in range(1, 13)],
        "tags": [
            {"value": t.pk, "label": t.name, "channel": t.channel_id}
            for t in Tag.objects.order_by("name")
        ],
        "segments": [
            {"value": s.pk, "label": s.name, "channel": s.channel_id}
            for s in Segment.objects.only("pk", "name", "channel_id")
        ],
        "audiences": [
            {"value": a.pk, "label": a.name, "channel": a.channel_id}
            for a in Audience.objects.only("pk", "name", "channel_id")
        ],
        "richMenus": _rich_menu_options(),
        "richMenuAreas": [
            {"value": n, "label": gettext("area %(n)s") % {"n": n}}
            for n in range(1, RICH_MENU_AREAS + 1)
        ],
        "text": {
            "all": gettext("all of"),
            "any": gettext("any of"),
            "none": gettext("none of"),
            "groupIntro": gettext("Members matching"),
            "addRule": gettext("+ Condition"),
            "addGroup": gettext("+ Group"),
            "remove": gettext("Remove"),
            "members": gettext("members match"),
            "counting": gettext("Counting…"),
            "sample": gettext("Sample of matching members"),
            "noSample": gettext("No member matches yet."),
            "chooseChannel": gettext("Choose the channel first."),
            "rawJson": gettext("Show the JSON"),
            "is": gettext("is"),
            "isNot": gettext("is not"),
            "yes": gettext("yes"),
            "no": gettext("no"),
            "and": gettext("and"),
            "key": gettext("key"),
            "days": gettext("days"),
            "inLast": gettext("in the last"),
            "daysZero": gettext("days (0 = ever)"),
            "hours": gettext("hours"),
            "name": gettext("name (blank: any)"),
            "campaignId": gettext("campaign ID"),
            "count": gettext("count"),
            "sum": gettext("sum of value"),
            "exact": gettext("exactly"),
            "prefix": gettext("starting with"),
            "within": gettext("within"),
            "thenNo": gettext("with no"),
            "thenYes": gettext("followed by"),
            "wrote": gettext("wrote to us"),
            "notWrote": gettext("did not write to us"),
            "received": gettext("received"),
            "notReceived": gettext("did not receive"),
            "clicked": gettext("clicked"),
            "notClicked": gettext("did not click"),
            "linkInCampaign": gettext("a link in campaign"),
            "campaignIdAny": gettext("campaign ID (blank: any)"),
            "anyCampaign": gettext("any"),
            "inside": gettext("in"),
            "outside": gettext("not in"),
            "linked": gettext("ID-linked"),
            "notLinked": gettext("not ID-linked"),
            "anyMethod": gettext("by any method, or only by:"),
            "followedAt": gettext("followed"),
            "firstFollowedAt": gettext("first followed"),
            "withinDays": gettext("in the last N days"),
            "before": gettext("before"),
            "after": gettext("after"),
            "between": gettext("between"),
            "matchAny": gettext("has any of"),
            "matchAll": gettext("has all of"),
            "matchNone": gettext("has none of"),
            "tapped": gettext("tapped"),
            "anyRichMenu": gettext("any rich menu"),
            "anyArea": gettext("any area"),
            "times": gettext("times"),
        },
        "ops": {
            "eq": gettext("="),
            "ne": gettext("≠"),
            "gt": gettext(">"),
            "gte": gettext("≥"),
            "lt": gettext("<"),
            "lte": gettext("≤"),
            "between": gettext("between"),
            "contains": gettext("contains"),
            "exists": gettext("is set"),
            "not_exists": gettext("is not set"),
        },
        "valueTypes": choices(
            [
                ("string", _("text")),
                ("number", _("number")),
                ("boolean", _("yes/no")),
                ("date", _("date")),
            ]
        ),
    }


@admin.register(Segment)
class SegmentAdmin(admin.ModelAdmin):
    form = SegmentForm
    change_form_template = "admin/members/segment/change_form.html"
    list_display = ("name", "channel", "summary", "member_count", "last_counted_at", "updated_at")
    list_filter = ("channel",)
    list_select_related = ("channel",)
    search_fields = ("name", "description")
    readonly_fields = ("summary", "last_count", "last_counted_at", "created_by", "updated_at")
    fieldsets = (
        (None, {"fields": ("channel", "name", "description")}),
        (_("Rules"), {"fields": ("definition",)}),
        (
            _("Count"),
            {"fields": ("summary", "last_count", "last_counted_at", "created_by", "updated_at")},
        ),
    )
    actions = ["recount", "export_csv"]

    @admin.display(description=_("summary"))
    def summary(self, segment):
        return segment_summary(segment.definition)

    @admin.display(description=_("members"), ordering="last_count")
    def member_count(self, segment):
        if segment.last_count is None:
            return "—"
        return number_format(segment.last_count, force_grouping=True)

    def get_urls(self):
        info = self.opts.app_label, self.opts.model_name
        return [
            path(
                "preview/",
                self.admin_site.admin_view(self.preview_view),
                name="{}_{}_preview".format(*info),
            ),
            path(
                "<int:object_id>/export/",
                self.admin_site.admin_view(self.export_view),
                name="{}_{}_export".format(*info),
            ),
            *super().get_urls(),
        ]

    def get_deleted_objects(self, objs, request):
        deleted, counts, perms_needed, protected = super().get_deleted_objects(objs, request)
        protected = [*protected, *_used_by(segments_using(segments=list(objs)))]
        return deleted, counts, perms_needed, protected

    def has_export_permission(self, request) -> bool:
        return request.user.has_perm(f"{self.opts.app_label}.export_segment")

    def save_model(self, request, obj, form, change):
        if not change:
            obj.created_by = request.user
        obj.last_count = segment_count(obj)
        obj.last_counted_at = timezone.now()
        super().save_model(request, obj, form, change)

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        context.update(
            {
                "builder_options": _builder_options(),
                "builder_config": {
                    "previewUrl": reverse("admin:members_segment_preview"),
                    "segment": obj.pk if obj else None,
                },
                "can_export": obj is not None and self.has_export_permission(request),
            }
        )
        return super().render_change_form(request, context, add, change, form_url, obj)

    def preview_view(self, request):
        """Validate the rules being edited; answer the count, a sample and the summary."""
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        if not (self.has_add_permission(request) or self.has_change_permission(request)):
            raise PermissionDenied
        try:
            body = json.loads(request.body)
            channel = Channel.objects.get(pk=int(body.get("channel")))
        except (ValueError, TypeError, Channel.DoesNotExist):
            return JsonResponse({"errors": [gettext("Choose the channel first.")]}, status=400)
        segment = None
        if body.get("segment"):
            segment = Segment.objects.filter(pk=body["segment"]).first()
        probe = Segment(
            pk=segment.pk if segment else None,
            name=segment.name if segment else gettext("this segment"),
            channel=channel,
            definition=body.get("definition"),
        )
        try:
            probe.definition = segment_validate(probe.definition, channel=channel, segment=probe)
        except ValidationError as error:
            return JsonResponse({"errors": error.messages}, status=400)
        with segment_session():
            # Staff type faster than a huge segment counts: bound each preview.
            if connection.vendor == "postgresql":
                with connection.cursor() as cursor:
                    cursor.execute(
                        "SELECT set_config('statement_timeout', %s, true)",
                        [str(PREVIEW_TIMEOUT_MS)],
                    )
            count = segment_queryset(probe).count()
            sample = segment_first_page(
                probe,
                fields=("pk", "display_name", "line_user_id", "friend_status", "rank", "points"),
                limit=PREVIEW_SAMPLE,
            )
        statuses, ranks = dict(FriendStatus.choices), dict(Rank.choices)
        return JsonResponse(
            {
                "count": count,
                "countText": ngettext("%(count)s member matches", "%(count)s members match", count)
                % {"count": number_format(count, force_grouping=True)},
                "summary": segment_summary(probe.definition),
                "sample": [
                    {
                        "name": m["display_name"] or m["line_user_id"],
                        "url": reverse("admin:members_member_change", args=[m["pk"]]),
                        "friendStatus": str(statuses.get(m["friend_status"], "")),
                        "rank": str(ranks.get(m["rank"], "")),
                        "points": m["points"],
                    }
                    for m in sample
                ],
            }
        )

    def export_view(self, request, object_id):
        segment = get_object_or_404(Segment, pk=object_id)
        if not (self.has_view_permission(request, segment) and self.has_export_permission(request)):
            raise PermissionDenied
        return self._export_response(segment)

    def _export_response(self, segment):
        filename = f"segment-{segment.pk}-{timezone.localdate():%Y%m%d}.csv"
        response = StreamingHttpResponse(
            segment_export_csv_lines(segment), content_type="text/csv; charset=utf-8"
        )
        response["Content-Disposition"] = f'attachment; filename="{filename}"'
        return response

    @admin.action(description=_("Count the members again"), permissions=["view"])
    def recount(self, request, queryset):
        now = timezone.now()
        for segment in queryset:
            segment.last_count = segment_count(segment, now=now)
            segment.last_counted_at = now
            segment.save(update_fields=["last_count", "last_counted_at"])
        self.message_user(request, gettext("Counted again."), messages.SUCCESS)

    @admin.action(description=_("Export the members as CSV"), permissions=["export"])
    def export_csv(self, request, queryset):
        if queryset.count() != 1:
            self.message_user(request, gettext("Export one segment at a time."), messages.WARNING)
            return None
        return self._export_response(queryset.get())


class AudienceAddForm(forms.ModelForm):
    upload = forms.FileField(
        label=_("file"),
        help_text=_(
            "CSV or TXT, UTF-8 or Shift_JIS: one value per line, or the first column of a CSV "
            "(a header row is skipped). Emails and phone numbers are hashed (SHA-256) before "
            "they are stored; the file itself is not kept."
        ),
    )

    class Meta:
        model = Audience
        fields = ("channel", "name", "description", "kind")

    def clean_upload(self):
        upload = self.cleaned_data["upload"]
        if upload.size > MAX_UPLOAD_BYTES:
            raise ValidationError(_("The file is larger than 50 MB."))
        return upload


class AudienceChangeForm(forms.ModelForm):
    upload = forms.FileField(
        label=_("add rows from a file"),
        required=False,
        help_text=_("Optional: more rows of the same kind; values already present are skipped."),
    )

    class Meta:
        model = Audience
        fields = ("name", "description")


@admin.register(Audience)
class AudienceAdmin(admin.ModelAdmin):
    change_form_template = "admin/members/audience/change_form.html"
    list_display = (
        "name",
        "channel",
        "kind",
        "entry_count",
        "matched_count",
        "match_rate_display",
        "invalid_count",
        "created_at",
    )
    list_filter = ("channel", "kind")
    list_select_related = ("channel",)
    search_fields = ("name", "description")
    date_hierarchy = "created_at"
    readonly_fields = (
        "channel",
        "kind",
        "row_count",
        "entry_count",
        "duplicate_count",
        "invalid_count",
        "matched_count",
        "match_rate_display",
        "matched_at",
        "bad_rows",
        "created_by",
        "created_at",
    )
    actions = ["rematch"]

    def get_form(self, request, obj=None, change=False, **kwargs):
        kwargs["form"] = AudienceChangeForm if obj else AudienceAddForm
        return super().get_form(request, obj, change=change, **kwargs)

    def get_fieldsets(self, request, obj=None):
        if obj is None:
            return ((None, {"fields": ("channel", "name", "description", "kind", "upload")}),)
        return (
            (None, {"fields": ("channel", "name", "description", "kind", "upload")}),
            (
                _("Rows"),
                {
                    "fields": (
                        "row_count",
                        "entry_count",
                        "duplicate_count",
                        "invalid_count",
                        "bad_rows",
                    )
                },
            ),
            (
                _("Matching"),
                {"fields": ("matched_count", "match_rate_display", "matched_at")},
            ),
            (None, {"fields": ("created_by", "created_at")}),
        )

    def get_deleted_objects(self, objs, request):
        deleted, counts, perms_needed, protected = super().get_deleted_objects(objs, request)
        protected = [*protected, *_used_by(segments_using(audiences=list(objs)))]
        return deleted, counts, perms_needed, protected

    def get_readonly_fields(self, request, obj=None):
        return self.readonly_fields if obj else ()

    @admin.display(description=_("match rate"))
    def match_rate_display(self, audience):
        rate = audience.match_rate
        if rate is None:
            return "—"
        return f"{number_format(rate * 100, decimal_pos=1)} %"

    @admin.display(description=_("bad rows"))
    def bad_rows(self, audience):
        if not audience.errors:
            return "—"
        rows = format_html_join(
            "",
            "<tr><td>{}</td><td>{}</td></tr>",
            ((error["line"], error["reason"]) for error in audience.errors),
        )
        return format_html(
            '<table class="segment-bad-rows"><thead><tr><th>{}</th><th>{}</th></tr></thead>'
            "<tbody>{}</tbody></table>",
            gettext("line"),
            gettext("reason"),
            rows,
        )

    def save_model(self, request, obj, form, change):
        if not change:
            obj.created_by = request.user
        super().save_model(request, obj, form, change)
        upload = form.cleaned_data.get("upload")
        if upload:
            result = audience_import(audience=obj, upload=upload)
            upload.close()
            self.message_user(
                request,
                gettext(
                    "%(imported)s new entries imported, %(invalid)s bad rows, "
                    "%(duplicates)s duplicates; %(matched)s of %(entries)s entries match a member."
                )
                % {
                    "imported": result.imported,
                    "invalid": result.invalid,
                    "duplicates": result.duplicates,
                    "matched": obj.matched_count,
                    "entries": obj.entry_count,
                },
                messages.WARNING if result.invalid else messages.SUCCESS,
            )

    @admin.action(description=_("Match against members again"), permissions=["change"])
    def rematch(self, request, queryset):
        for audience in queryset:
            audience_match(audience)
        self.message_user(request, gettext("Matched again."), messages.SUCCESS)
