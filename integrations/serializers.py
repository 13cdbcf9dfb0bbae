"""What the API accepts and answers. Validation only; storing is in members.py and events.py."""

import datetime as dt
import json

from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from members.models import (
    EventKind,
    Gender,
    Member,
    MemberEvent,
    Prefecture,
    Rank,
    line_user_id_validator,
)

JSON_MAX_BYTES = 16 * 1024
# A little clock skew between the company's systems and ours is normal; a day is a mistake.
FUTURE_TOLERANCE = dt.timedelta(days=1)


def _json_size_check(value: dict) -> dict:
    if len(json.dumps(value, ensure_ascii=False).encode()) > JSON_MAX_BYTES:
        raise serializers.ValidationError(
            _("At most %(limit)d bytes of JSON.") % {"limit": JSON_MAX_BYTES}
        )
    return value


class MemberSerializer(serializers.ModelSerializer):
    """A member as the API shows it."""

    external_id = serializers.CharField(source="external_customer_id", read_only=True)
    tags = serializers.SlugRelatedField(many=True, read_only=True, slug_field="name")

    class Meta:
        model = Member
        fields = [
            "external_id",
            "line_user_id",
            "friend_status",
            "gender",
            "birthday",
            "prefecture",
            "rank",
            "points",
            "attributes",
            "tags",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class MemberUpsertSerializer(serializers.Serializer):
    """First-party fields of a member; only the fields sent are changed."""

    line_user_id = serializers.CharField(
        required=False,
        validators=[line_user_id_validator],
        help_text=_(
            "Attach the customer ID to this LINE user's member when no member has it yet "
            "(created if the LINE user has not followed yet). Must match if one already has it."
        ),
    )
    gender = serializers.ChoiceField(choices=Gender.choices, required=False, allow_blank=True)
    birthday = serializers.DateField(required=False, allow_null=True)
    prefecture = serializers.ChoiceField(
        choices=Prefecture.choices,
        required=False,
        allow_null=True,
        help_text=_("JIS X 0401 code, 1 (Hokkaido) to 47 (Okinawa)."),
    )
    rank = serializers.ChoiceField(choices=Rank.choices, required=False)
    points = serializers.IntegerField(min_value=0, max_value=2**31 - 1, required=False)
    attributes = serializers.DictField(
        required=False,
        allow_empty=True,
        help_text=_("Merged into the member's custom attributes; a key set to null is removed."),
    )
    tags = serializers.ListField(
        child=serializers.CharField(max_length=50),
        required=False,
        max_length=50,
        help_text=_("Tags to add (created in the channel when new). Other tags stay."),
    )
    tags_remove = serializers.ListField(
        child=serializers.CharField(max_length=50),
        required=False,
        max_length=50,
        help_text=_("Tags to take off the member."),
    )

    def validate_birthday(self, value):
        if value is not None and not dt.date(1900, 1, 1) <= value <= timezone.localdate():
            raise serializers.ValidationError(_("A birthday is between 1900-01-01 and today."))
        return value

    def validate_attributes(self, value):
        return _json_size_check(value)


class EventInputSerializer(serializers.Serializer):
    """One event; the member is named by exactly one of external_id and line_user_id.

    ``context["channel"]`` scopes the member lookup; ``context["members"]`` may hold members
    already loaded, keyed by ("external_id" | "line_user_id", value).
    """

    external_id = serializers.CharField(required=False, max_length=100)
    line_user_id = serializers.CharField(required=False, validators=[line_user_id_validator])
    kind = serializers.ChoiceField(choices=EventKind.choices)
    name = serializers.CharField(
        required=False,
        allow_blank=True,
        default="",
        max_length=100,
        help_text=_("A product code, a page path; required for custom events."),
    )
    properties = serializers.DictField(required=False, default=dict)
    value = serializers.DecimalField(
        max_digits=14, decimal_places=2, required=False, allow_null=True, default=None
    )
    occurred_at = serializers.DateTimeField(
        help_text=_("ISO 8601; without an offset it is read as Japan time.")
    )
    idempotency_key = serializers.CharField(
        max_length=100,
        help_text=_(
            "Unique per member for this event, e.g. the order number. A retry with the same "
            "key is not counted again: the stored event is answered with status 200."
        ),
    )

    def validate_properties(self, value):
        return _json_size_check(value)

    def validate_occurred_at(self, value):
        if value > timezone.now() + FUTURE_TOLERANCE:
            raise serializers.ValidationError(_("This time is in the future."))
        return value

    def validate(self, attrs):
        given = [field for field in ("external_id", "line_user_id") if attrs.get(field)]
        if len(given) != 1:
            raise serializers.ValidationError(
                {"external_id": _("Give exactly one of external_id and line_user_id.")}
            )
        if attrs["kind"] == EventKind.CUSTOM and not attrs.get("name"):
            raise serializers.ValidationError({"name": _("A custom event needs a name.")})
        field = given[0]
        attrs["member"] = self._member(field, attrs.pop(field))
        if attrs["member"] is None:
            message = (
                _("No member of this channel has this customer ID.")
                if field == "external_id"
                else _("No member of this channel has this LINE user ID.")
            )
            raise serializers.ValidationError({field: message})
        return attrs

    def _member(self, field: str, value: str) -> Member | None:
        known = self.context.get("members", {})
        if (field, value) in known:
            return known[(field, value)]
        lookup = {"external_customer_id" if field == "external_id" else field: value}
        return Member.objects.filter(channel=self.context["channel"], **lookup).first()


class EventSerializer(serializers.ModelSerializer):
    """An event as stored."""

    external_id = serializers.CharField(source="member.external_customer_id", read_only=True)
    line_user_id = serializers.CharField(source="member.line_user_id", read_only=True)
    recorded_at = serializers.DateTimeField(source="created_at", read_only=True)

    class Meta:
        model = MemberEvent
        fields = [
            "id",
            "external_id",
            "line_user_id",
            "kind",
            "name",
            "properties",
            "value",
            "occurred_at",
            "idempotency_key",
            "recorded_at",
        ]
        read_only_fields = fields


class EventBatchSerializer(serializers.Serializer):
    """A batch as documented; events.event_batch_record validates each item on its own."""

    events = EventInputSerializer(many=True, help_text=_("Events, each as for POST /events/."))


class BatchErrorSerializer(serializers.Serializer):
    index = serializers.IntegerField()
    field = serializers.CharField(allow_null=True)
    message = serializers.CharField()


class BatchResultSerializer(serializers.Serializer):
    index = serializers.IntegerField()
    status = serializers.ChoiceField(choices=["created", "duplicate", "failed"])
    id = serializers.IntegerField(allow_null=True)


class BatchReportSerializer(serializers.Serializer):
    received = serializers.IntegerField()
    created = serializers.IntegerField()
    duplicates = serializers.IntegerField()
    failed = serializers.IntegerField()
    results = BatchResultSerializer(many=True)
    errors = BatchErrorSerializer(many=True)


SKU_MAX = 100


class ProductSerializer(serializers.Serializer):
    """A product as the API shows it."""

    sku = serializers.CharField(read_only=True)
    name = serializers.CharField(read_only=True)
    price = serializers.DecimalField(max_digits=12, decimal_places=2, read_only=True)
    image_url = serializers.URLField(read_only=True)
    url = serializers.URLField(read_only=True)
    in_stock = serializers.BooleanField(read_only=True)
    updated_at = serializers.DateTimeField(read_only=True)


class ProductUpsertSerializer(serializers.Serializer):
    """The whole product: fields left out take their defaults (in stock, no image, no page)."""

    name = serializers.CharField(max_length=200)
    price = serializers.DecimalField(max_digits=12, decimal_places=2, min_value=0)
    image_url = serializers.URLField(max_length=1000, required=False, default="", allow_blank=True)
    url = serializers.URLField(max_length=1000, required=False, default="", allow_blank=True)
    in_stock = serializers.BooleanField(required=False, default=True)

    def validate_image_url(self, value: str) -> str:
        if value and not value.startswith("https://"):
            raise serializers.ValidationError(_("LINE shows images from https:// addresses only."))
        return value
