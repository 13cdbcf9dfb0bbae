from django.contrib import admin

from .models import AutoReply


@admin.register(AutoReply)
class AutoReplyAdmin(admin.ModelAdmin):
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
