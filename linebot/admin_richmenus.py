"""Admin for rich menus and their aliases: the area editor, LINE previews, sync and repair."""

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db.models import Count
from django.http import HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from . import richmenus
from .errors import LineApiError
from .models import Channel, RichMenu, RichMenuAlias, RichMenuSyncStatus
from .richmenus import (
    ACTION_TYPES,
    SIZES,
    RichMenuSyncError,
    alias_delete,
    alias_status,
    alias_sync,
    image_info,
    image_problems,
    layouts_for_editor,
    rich_menu_delete,
    rich_menu_status,
    rich_menu_sync,
    rich_menus_check,
    rich_menus_repair,
)

STATUS_COLOURS = {
    RichMenuSyncStatus.DRAFT: "#777",
    RichMenuSyncStatus.SYNCED: "#2e7d32",
    RichMenuSyncStatus.OUT_OF_SYNC: "#b26a00",
    RichMenuSyncStatus.FAILED: "#c62828",
}


def status_badge(status: str):
    return format_html(
        '<span class="richmenu-status richmenu-status-{}" '
        'style="color:{};font-weight:bold">{}</span>',
        status,
        STATUS_COLOURS[status],
        RichMenuSyncStatus(status).label,
    )


class RichMenuForm(forms.ModelForm):
    areas = forms.JSONField(widget=forms.HiddenInput, required=False)

    class Meta:
        model = RichMenu
        fields = ("channel", "name", "chat_bar_text", "selected", "image", "areas")
        widgets = {"image": forms.ClearableFileInput(attrs={"accept": "image/png,image/jpeg"})}
        help_texts = {
            "image": gettext_lazy(
                "JPEG or PNG, at most 1 MB, 800 to 2500 px wide, at least 250 px high, width "
                "divided by height at least 1.45 (usually 2500×1686 or 2500×843). The menu "
                "takes the image's size."
            )
        }

    def clean_areas(self):
        return self.cleaned_data.get("areas") or []

    def clean_image(self):
        image = self.cleaned_data.get("image")
        if isinstance(image, UploadedFile):
            data = image.read()
            image.seek(0)
            problems = image_problems(data)
            if problems:
                raise ValidationError([p.as_dict()["message"] for p in problems])
            content_type, width, height = image_info(data)
            self.instance.width, self.instance.height = width, height
            self.instance.image_content_type = content_type
        elif not image:
            raise ValidationError(_("Choose an image."))
        return image


@admin.register(RichMenu)
class RichMenuAdmin(admin.ModelAdmin):
    form = RichMenuForm
    change_form_template = "admin/linebot/richmenu/change_form.html"
    list_display = (
        "thumbnail",
        "name",
        "channel",
        "size_label",
        "area_count",
        "sync_status",
        "alias_list",
        "tap_count",
        "synced_at",
    )
    list_display_links = ("thumbnail", "name")
    list_filter = ("channel", "selected")
    list_select_related = ("channel",)
    search_fields = ("name", "chat_bar_text", "line_rich_menu_id")
    autocomplete_fields = ("channel",)
    readonly_fields = ("size_label", "sync_panel", "tap_table")
    actions = ["sync_selected", "repair_channels", "delete_from_line"]
    fieldsets = (
        (None, {"fields": ("channel", "name", "chat_bar_text", "selected")}),
        (gettext_lazy("Image and areas"), {"fields": ("image", "size_label", "areas")}),
        (gettext_lazy("LINE"), {"fields": ("sync_panel",)}),
        (gettext_lazy("Taps"), {"fields": ("tap_table",)}),
    )

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(_aliases=Count("aliases"))

    def get_changelist_instance(self, request):
        changelist = super().get_changelist_instance(request)
        ids = [menu.pk for menu in changelist.result_list]
        self._tap_totals = richmenus.tap_stats.per_menu(ids)
        return changelist

    @admin.display(description=gettext_lazy("image"))
    def thumbnail(self, menu):
        if not menu.image:
            return "—"
        return format_html(
            '<img src="{}" alt="" class="richmenu-thumbnail" style="width:120px;'
            'aspect-ratio:{} / {};object-fit:cover;background:#eee">',
            menu.image.url,
            menu.width,
            menu.height,
        )

    @admin.display(description=gettext_lazy("size"))
    def size_label(self, menu):
        kind = {v: k for k, v in SIZES.items()}.get((menu.width, menu.height))
        names = {"large": _("large"), "compact": _("compact")}
        size = f"{menu.width}×{menu.height}"
        return f"{size} ({names[kind]})" if kind else size

    @admin.display(description=gettext_lazy("areas"))
    def area_count(self, menu):
        return len(menu.areas or [])

    @admin.display(description=gettext_lazy("status on LINE"))
    def sync_status(self, menu):
        return status_badge(rich_menu_status(menu))

    @admin.display(description=gettext_lazy("aliases"), ordering="_aliases")
    def alias_list(self, menu):
        return ", ".join(menu.aliases.values_list("alias_id", flat=True))

    @admin.display(description=gettext_lazy("taps"))
    def tap_count(self, menu):
        return getattr(self, "_tap_totals", {}).get(menu.pk, 0)

    @admin.display(description=gettext_lazy("status on LINE"))
    def sync_panel(self, menu):
        if not menu.pk:
            return _("Synced once the menu is saved.")
        status = rich_menu_status(menu)
        rows = [
            (_("Status"), status_badge(status)),
            (_("LINE rich menu ID"), menu.line_rich_menu_id or "—"),
            (_("Last synced"), menu.synced_at or "—"),
        ]
        if menu.sync_error:
            rows.append((_("Error"), menu.sync_error))
        table = format_html_join(
            "", "<tr><th>{}</th><td>{}</td></tr>", ((label, value) for label, value in rows)
        )
        sync_url = reverse("admin:linebot_richmenu_sync", args=[menu.pk])
        check_url = reverse("admin:linebot_richmenu_check", args=[menu.pk])
        return format_html(
            '<table class="richmenu-sync">{}</table>'
            '<p><button type="submit" form="richmenu-sync-form" class="button" '
            'formaction="{}">{}</button> '
            '<button type="submit" form="richmenu-sync-form" class="button" '
            'formaction="{}">{}</button></p>',
            table,
            sync_url,
            _("Sync now"),
            check_url,
            _("Check against LINE and repair"),
        )

    @admin.display(description=gettext_lazy("taps per area"))
    def tap_table(self, menu):
        if not menu.pk:
            return "—"
        counts = richmenus.tap_stats.per_area(menu)
        total = sum(counts.values())
        rows = []
        for index, area in enumerate(menu.areas or [], start=1):
            action = area.get("action") or {}
            kind = ACTION_TYPES.get(action.get("type"), action.get("type"))
            what = action.get("data") or action.get("uri") or action.get("text") or ""
            n = counts.get(index, 0)
            share = round(n * 100 / total) if total else 0
            rows.append((index, kind, what, n, share, share))
        if not rows:
            return "—"
        body = format_html_join(
            "",
            '<tr><td>{}</td><td>{}</td><td>{}</td><td class="richmenu-taps">{}</td>'
            '<td><span class="richmenu-bar" style="width:{}%"></span> {}%</td></tr>',
            rows,
        )
        return format_html(
            '<table class="richmenu-tap-table"><thead><tr><th>#</th><th>{}</th><th>{}</th>'
            "<th>{}</th><th></th></tr></thead><tbody>{}</tbody></table>"
            '<p class="help">{}</p>',
            _("action"),
            _("data"),
            _("taps"),
            body,
            _("LINE reports postbacks only: taps on URL areas are not counted."),
        )

    # Editor context

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        # With each alias, its menu: the preview switches tabs as the LINE app does.
        aliases = [
            {
                "id": a.alias_id,
                "channel": a.channel_id,
                "menu": a.rich_menu.name,
                "menuId": a.rich_menu_id,
                "imageUrl": a.rich_menu.image.url if a.rich_menu.image else "",
                "width": a.rich_menu.width,
                "height": a.rich_menu.height,
                "chatBarText": a.rich_menu.chat_bar_text,
                "areas": a.rich_menu.areas,
            }
            for a in RichMenuAlias.objects.select_related("rich_menu")
        ]
        counts = richmenus.tap_stats.per_area(obj) if obj else {}
        context["richmenu_editor"] = {
            "layouts": layouts_for_editor(),
            "actionTypes": [{"value": k, "label": str(v)} for k, v in ACTION_TYPES.items()],
            "aliases": aliases,
            "width": obj.width if obj else 2500,
            "height": obj.height if obj else 1686,
            "imageUrl": obj.image.url if obj and obj.image else "",
            "taps": {str(k): v for k, v in counts.items()},
            "maxAreas": richmenus.MAX_AREAS,
            "menuId": obj.pk if obj else None,
        }
        context["richmenu_labels"] = {
            "data": _("Postback data"),
            "displayText": _("Text shown in the chat"),
            "label": _("Label (for accessibility)"),
            "text": _("Message text"),
            "uri": _("URL"),
            "mode": _("Mode"),
            "initial": _("Initial value"),
            "min": _("Earliest"),
            "max": _("Latest"),
            "alias": _("Switch to the menu with alias"),
            "clipboardText": _("Text to copy"),
            "area": _("Area"),
            "areas": _("areas"),
            "action": _("Action"),
            "x": _("x"),
            "y": _("y"),
            "width": _("width"),
            "height": _("height"),
            "taps": _("taps"),
            "resize": _("Resize"),
            "remove": _("Delete this area"),
            "noSelection": _("Click an area, or draw one on the image."),
            "notHere": _(
                "LINE does not allow camera, camera roll or location actions in rich menus."
            ),
            "tooMany": _("A rich menu has at most 20 areas."),
            "replace": _("Replace the current areas with this grid?"),
            "menu": _("Menu"),
            "tapped": _("Tapped area"),
        }
        return super().render_change_form(request, context, add, change, form_url, obj)

    def response_add(self, request, obj, post_url_continue=None):
        if "_sync" in request.POST:
            self._sync_one(request, obj)
            return HttpResponseRedirect(reverse("admin:linebot_richmenu_change", args=[obj.pk]))
        return super().response_add(request, obj, post_url_continue)

    def response_change(self, request, obj):
        if "_sync" in request.POST:
            self._sync_one(request, obj)
            return HttpResponseRedirect(request.path)
        return super().response_change(request, obj)

    # Sync

    def _sync_one(self, request, menu, *, force=False) -> bool:
        try:
            rich_menu_sync(menu, force=force)
        except RichMenuSyncError as error:
            for problem in error.problems:
                self.message_user(
                    request,
                    f"{menu}: {problem.path}: {problem.as_dict()['message']}",
                    messages.ERROR,
                )
            return False
        except LineApiError as error:
            self.message_user(
                request,
                _("%(menu)s: LINE refused: %(error)s") % {"menu": menu, "error": error},
                messages.ERROR,
            )
            return False
        self.message_user(request, _("%(menu)s is on LINE.") % {"menu": menu}, messages.SUCCESS)
        return True

    def get_urls(self):
        return [
            path(
                "<int:pk>/sync/",
                self.admin_site.admin_view(self.sync_view),
                name="linebot_richmenu_sync",
            ),
            path(
                "<int:pk>/check/",
                self.admin_site.admin_view(self.check_view),
                name="linebot_richmenu_check",
            ),
            *super().get_urls(),
        ]

    def _posted_menu(self, request, pk):
        if request.method != "POST":
            raise PermissionDenied
        menu = get_object_or_404(RichMenu, pk=pk)
        if not self.has_change_permission(request, menu):
            raise PermissionDenied
        return menu

    def sync_view(self, request, pk):
        menu = self._posted_menu(request, pk)
        self._sync_one(request, menu)
        return HttpResponseRedirect(reverse("admin:linebot_richmenu_change", args=[pk]))

    def check_view(self, request, pk):
        menu = self._posted_menu(request, pk)
        self._repair(request, [menu.channel])
        return HttpResponseRedirect(reverse("admin:linebot_richmenu_change", args=[pk]))

    def _repair(self, request, channels):
        for channel in channels:
            try:
                before = rich_menus_check(channel)
                after = rich_menus_repair(channel) if not before.in_sync else before
            except LineApiError as error:
                self.message_user(
                    request,
                    _("%(channel)s: LINE refused: %(error)s")
                    % {"channel": channel, "error": error},
                    messages.ERROR,
                )
                continue
            fixed = len(before.missing) + len(before.changed) + len(before.aliases_wrong)
            level = messages.SUCCESS if after.in_sync else messages.WARNING
            text = (
                _("%(channel)s: everything matches LINE.")
                if before.in_sync
                else ngettext(
                    "%(channel)s: %(count)d difference repaired.",
                    "%(channel)s: %(count)d differences repaired.",
                    fixed,
                )
            ) % {"channel": channel, "count": fixed}
            if not after.in_sync:
                text += " " + _("Some could not be repaired: see each menu's error.")
            if after.unknown_line_ids:
                text += " " + ngettext(
                    "LINE also has %(count)d menu the CRM does not know: %(ids)s.",
                    "LINE also has %(count)d menus the CRM does not know: %(ids)s.",
                    len(after.unknown_line_ids),
                ) % {"count": len(after.unknown_line_ids), "ids": ", ".join(after.unknown_line_ids)}
            self.message_user(request, text, level)

    @admin.action(
        description=gettext_lazy("Sync the selected menus to LINE"), permissions=["change"]
    )
    def sync_selected(self, request, queryset):
        done = sum(self._sync_one(request, menu) for menu in queryset)
        self.message_user(
            request,
            ngettext("%(count)d menu synced.", "%(count)d menus synced.", done) % {"count": done},
        )

    @admin.action(
        description=gettext_lazy("Check the selected menus' channels against LINE and repair"),
        permissions=["change"],
    )
    def repair_channels(self, request, queryset):
        self._repair(request, Channel.objects.filter(rich_menus__in=queryset).distinct())

    @admin.action(
        description=gettext_lazy("Remove the selected menus from LINE (keep them here)"),
        permissions=["change"],
    )
    def delete_from_line(self, request, queryset):
        for menu in queryset:
            try:
                rich_menu_delete(menu)
            except LineApiError as error:
                self.message_user(request, f"{menu}: {error}", messages.ERROR)
        self.message_user(request, _("Removed from LINE."))

    def delete_queryset(self, request, queryset):
        for menu in queryset:
            self.delete_model(request, menu)

    def delete_model(self, request, obj):
        try:
            rich_menu_delete(obj)
        except LineApiError as error:
            self.message_user(
                request, _("Not removed from LINE: %(error)s") % {"error": error}, messages.WARNING
            )
        super().delete_model(request, obj)


@admin.register(RichMenuAlias)
class RichMenuAliasAdmin(admin.ModelAdmin):
    list_display = ("alias_id", "rich_menu", "channel", "sync_status", "synced_at")
    list_filter = ("channel",)
    list_select_related = ("channel", "rich_menu")
    search_fields = ("alias_id", "rich_menu__name")
    autocomplete_fields = ("channel", "rich_menu")
    readonly_fields = ("line_rich_menu_id", "synced_at", "sync_error")
    actions = ["sync_selected"]

    @admin.display(description=gettext_lazy("status on LINE"))
    def sync_status(self, alias):
        return status_badge(alias_status(alias))

    def delete_model(self, request, obj):
        try:
            alias_delete(obj)
        except LineApiError as error:
            self.message_user(
                request, _("Not removed from LINE: %(error)s") % {"error": error}, messages.WARNING
            )
        super().delete_model(request, obj)

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        try:
            alias_sync(obj)
        except (LineApiError, RichMenuSyncError) as error:
            self.message_user(
                request,
                _("Saved, but not on LINE yet: %(error)s") % {"error": error},
                messages.WARNING,
            )

    @admin.action(
        description=gettext_lazy("Sync the selected aliases to LINE"), permissions=["change"]
    )
    def sync_selected(self, request, queryset):
        for alias in queryset:
            try:
                alias_sync(alias)
            except (LineApiError, RichMenuSyncError) as error:
                self.message_user(request, f"{alias}: {error}", messages.ERROR)
        self.message_user(request, _("Aliases synced."))
