from django.contrib import admin, messages
from django.template.response import TemplateResponse
from django.utils.cache import add_never_cache_headers
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from .models import Integration, Product
from .tokens import integration_create, integration_revoke


@admin.register(Integration)
class IntegrationAdmin(admin.ModelAdmin):
    list_display = (
        "name",
        "channel",
        "token_display",
        "is_active",
        "last_used_at",
        "created_by",
        "created_at",
    )
    list_filter = ("is_active", "channel")
    list_select_related = ("channel", "created_by")
    search_fields = ("name",)
    actions = ["revoke_selected"]
    readonly_fields = (
        "token_display",
        "is_active",
        "last_used_at",
        "created_by",
        "created_at",
        "revoked_at",
    )

    def get_fields(self, request, obj=None):
        if obj is None:
            return ("name", "channel")
        return ("name", "channel", *self.readonly_fields)

    def get_readonly_fields(self, request, obj=None):
        # The channel is what the token may touch: a token never moves to another channel.
        return (*self.readonly_fields, "channel") if obj else ()

    @admin.display(description=_("token"))
    def token_display(self, obj):
        return f"{obj.token_prefix}…"

    def save_model(self, request, obj, form, change):
        if change:
            super().save_model(request, obj, form, change)
            return
        integration, token = integration_create(
            name=obj.name, channel=obj.channel, created_by=request.user
        )
        obj.pk = integration.pk
        obj._state.adding = False
        obj.refresh_from_db()
        # Shown by response_add on the next page and nowhere else; never stored in clear.
        obj.issued_token = token

    def response_add(self, request, obj, post_url_continue=None):
        response = TemplateResponse(
            request,
            "admin/integrations/integration/token_created.html",
            {
                **self.admin_site.each_context(request),
                "opts": self.opts,
                "integration": obj,
                "token": obj.issued_token,
                "title": _("Integration created: copy its token now"),
            },
        )
        add_never_cache_headers(response)
        return response

    @admin.action(description=_("Revoke the selected integrations' tokens"), permissions=["change"])
    def revoke_selected(self, request, queryset):
        revoked = sum(integration_revoke(integration=integration) for integration in queryset)
        self.message_user(
            request,
            ngettext(
                "%(count)d integration revoked: its token no longer works.",
                "%(count)d integrations revoked: their tokens no longer work.",
                revoked,
            )
            % {"count": revoked},
            messages.SUCCESS,
        )


@admin.register(Product)
class ProductAdmin(admin.ModelAdmin):
    """The catalog as the company's systems last sent it; changed through the API only."""

    list_display = ("sku", "name", "price", "in_stock", "channel", "updated_at")
    list_filter = ("in_stock", "channel")
    list_select_related = ("channel",)
    search_fields = ("sku", "name")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
