from django import forms
from django.contrib import admin
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from .models import Channel, WebhookEvent
from .webhook import webhook_events_retry


class SecretInput(forms.PasswordInput):
    """A secret is typed in, never shown back: the page source must not carry it."""

    def __init__(self, attrs=None):
        super().__init__(
            attrs={"autocomplete": "new-password", **(attrs or {})}, render_value=False
        )


class ChannelAdminForm(forms.ModelForm):
    SECRET_FIELDS = ("channel_secret", "access_token")

    class Meta:
        model = Channel
        fields = (
            "name",
            "is_active",
            "platform",
            "channel_id",
            "channel_secret",
            "access_token",
            "bot_basic_id",
            "bot_user_id",
            "login_app",
        )
        widgets = {"channel_secret": SecretInput(), "access_token": SecretInput()}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            for name in self.SECRET_FIELDS:
                self.fields[name].required = False
                self.fields[name].help_text = _("Leave empty to keep the current value.")

    def clean(self):
        cleaned = super().clean()
        if self.instance.pk:
            for name in self.SECRET_FIELDS:
                if not cleaned.get(name):
                    # Keep the stored value; the model's own validation still runs on save.
                    cleaned[name] = getattr(Channel.objects.get(pk=self.instance.pk), name)
                    setattr(self.instance, name, cleaned[name])
        return cleaned


@admin.register(Channel)
class ChannelAdmin(admin.ModelAdmin):
    form = ChannelAdminForm
    list_display = ("name", "channel_id", "bot_basic_id", "platform", "is_active", "updated_at")
    list_filter = ("platform", "is_active")
    search_fields = ("name", "channel_id", "bot_basic_id")
    readonly_fields = ("webhook_url_copy", "created_at", "updated_at")
    fieldsets = (
        (None, {"fields": ("name", "is_active", "platform")}),
        (
            _("Messaging API"),
            {
                "fields": (
                    "channel_id",
                    "channel_secret",
                    "access_token",
                    "bot_basic_id",
                    "bot_user_id",
                )
            },
        ),
        (_("LINE Login"), {"fields": ("login_app",)}),
        (_("Webhook"), {"fields": ("webhook_url_copy",)}),
        (_("History"), {"fields": ("created_at", "updated_at")}),
    )

    @admin.display(description=_("webhook URL"))
    def webhook_url_copy(self, obj):
        if not obj.pk:
            return _("Shown once the channel is saved.")
        return format_html(
            '<input type="text" readonly value="{url}" size="70" id="webhook-url" '
            'onclick="this.select()"> '
            '<button type="button" class="button" '
            "onclick=\"navigator.clipboard.writeText(document.getElementById('webhook-url').value)\">"
            '{label}</button><div class="help">{help}</div>',
            url=obj.webhook_url,
            label=_("Copy"),
            help=_("Paste this into the LINE Developers console as the channel's webhook URL."),
        )


@admin.register(WebhookEvent)
class WebhookEventAdmin(admin.ModelAdmin):
    list_display = (
        "received_at",
        "channel",
        "event_type",
        "status",
        "attempts",
        "is_redelivery",
        "error_summary",
    )
    list_filter = ("status", "event_type", "channel", "is_redelivery")
    list_select_related = ("channel",)
    search_fields = ("=webhook_event_id",)
    date_hierarchy = "received_at"
    readonly_fields = [field.name for field in WebhookEvent._meta.fields]
    actions = ["retry"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    @admin.display(description=_("error"))
    def error_summary(self, event):
        return event.error.splitlines()[0][:120] if event.error else ""

    @admin.action(description=_("Retry handling of the selected failed events"))
    def retry(self, request, queryset):
        count = webhook_events_retry(queryset.values_list("pk", flat=True))
        self.message_user(request, _("%(count)d event(s) queued again.") % {"count": count})


from . import admin_richmenus  # noqa: E402, F401
