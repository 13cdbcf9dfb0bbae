"""The REST API under /api/v1/: thin views over members.py and events.py."""

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy
from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.parsers import JSONParser
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from . import events, members, products
from .authentication import IntegrationRateThrottle, IntegrationTokenAuthentication, IsIntegration
from .serializers import (
    SKU_MAX,
    BatchReportSerializer,
    EventBatchSerializer,
    EventInputSerializer,
    EventSerializer,
    MemberSerializer,
    MemberUpsertSerializer,
    ProductSerializer,
    ProductUpsertSerializer,
)

REPLAYED_HEADER = "Idempotent-Replayed"

_errors = OpenApiResponse(description=_lazy("Invalid input: each field named with its messages."))
_unauthorized = OpenApiResponse(description=_lazy("No token, or a wrong or revoked one."))
_not_found = OpenApiResponse(
    description=_lazy("No member of this integration's channel has this ID."),
    response=inline_serializer("NotFound", {"detail": serializers.CharField()}),
)


class IntegrationAPIView(APIView):
    """Every endpoint: an integration token, its channel only, its own request rate."""

    authentication_classes = [IntegrationTokenAuthentication]
    permission_classes = [IsIntegration]
    throttle_classes = [IntegrationRateThrottle]
    parser_classes = [JSONParser]
    renderer_classes = [JSONRenderer]

    @property
    def channel(self):
        return self.request.auth.channel


def _member_not_found(message: str) -> NotFound:
    return NotFound(message, code="member_not_found")


class MemberDetailView(IntegrationAPIView):
    @extend_schema(
        operation_id="member_get",
        summary=_lazy("A member by customer ID"),
        responses={200: MemberSerializer, 401: _unauthorized, 404: _not_found},
        tags=["members"],
    )
    def get(self, request, external_id: str):
        try:
            member = members.member_by_external_id(channel=self.channel, external_id=external_id)
        except members.MemberNotFound:
            raise _member_not_found(_("No member of this channel has this customer ID.")) from None
        return Response(MemberSerializer(member).data)

    @extend_schema(
        operation_id="member_upsert",
        summary=_lazy("Create or update a member by customer ID"),
        description=_lazy(
            "Sets the fields sent and keeps the others. When no member has this customer ID "
            "yet, `line_user_id` is required: the ID is attached to that LINE user's member, "
            "created (201) if the LINE user has not followed yet. Without it the answer is 404 "
            "and nothing is stored."
        ),
        request=MemberUpsertSerializer,
        responses={
            200: MemberSerializer,
            201: MemberSerializer,
            400: _errors,
            401: _unauthorized,
            404: _not_found,
            409: OpenApiResponse(description=_lazy("The IDs given belong to different members.")),
        },
        tags=["members"],
    )
    def put(self, request, external_id: str):
        if len(external_id) > 100:
            raise ValidationError({"external_id": [_("At most 100 characters.")]})
        serializer = MemberUpsertSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            member, created = members.member_upsert(
                channel=self.channel, external_id=external_id, data=serializer.validated_data
            )
        except members.MemberNotFound:
            raise NotFound(
                _(
                    "No member of this channel has this customer ID. Send line_user_id to "
                    "attach it to a LINE user."
                ),
                code="member_not_found",
            ) from None
        except members.UpsertConflict as conflict:
            return Response({conflict.field: [conflict.message]}, status=status.HTTP_409_CONFLICT)
        return Response(
            MemberSerializer(member).data,
            status=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
        )


class MemberByLineUserView(IntegrationAPIView):
    @extend_schema(
        operation_id="member_get_by_line_user",
        summary=_lazy("A member by LINE user ID"),
        responses={200: MemberSerializer, 401: _unauthorized, 404: _not_found},
        tags=["members"],
    )
    def get(self, request, line_user_id: str):
        try:
            member = members.member_by_line_user_id(channel=self.channel, line_user_id=line_user_id)
        except members.MemberNotFound:
            raise _member_not_found(_("No member of this channel has this LINE user ID.")) from None
        return Response(MemberSerializer(member).data)


class EventCreateView(IntegrationAPIView):
    @extend_schema(
        operation_id="event_create",
        summary=_lazy("Report one event"),
        description=_lazy(
            "201 with the stored event. A repeat with an idempotency key already stored for "
            "the member answers 200 with the event stored first (header Idempotent-Replayed: "
            "true) and is not counted again."
        ),
        request=EventInputSerializer,
        responses={200: EventSerializer, 201: EventSerializer, 400: _errors, 401: _unauthorized},
        tags=["events"],
    )
    def post(self, request):
        serializer = EventInputSerializer(data=request.data, context={"channel": self.channel})
        serializer.is_valid(raise_exception=True)
        event, created = events.event_store(data=serializer.validated_data)
        if created:
            return Response(EventSerializer(event).data, status=status.HTTP_201_CREATED)
        return Response(EventSerializer(event).data, headers={REPLAYED_HEADER: "true"})


class EventBatchView(IntegrationAPIView):
    @extend_schema(
        operation_id="event_batch_create",
        summary=_lazy("Report events in a batch"),
        description=_lazy(
            "Each event is validated on its own: the valid ones are stored, the others are "
            "reported in `errors` with their index, field and message, and `results` gives "
            "every item's status (created, duplicate or failed). The answer is 200 whenever "
            "the batch itself is well formed, even if items failed. A batch that is not a "
            "list, is empty or has more events than the limit is refused whole with 400."
        ),
        request=EventBatchSerializer,
        responses={200: BatchReportSerializer, 400: _errors, 401: _unauthorized},
        tags=["events"],
    )
    def post(self, request):
        report = events.event_batch_record(channel=self.channel, payload=request.data)
        return Response(report)


class ProductDetailView(IntegrationAPIView):
    @extend_schema(
        operation_id="product_get",
        summary=_lazy("A product by SKU"),
        responses={
            200: ProductSerializer,
            401: _unauthorized,
            404: OpenApiResponse(
                description=_lazy("This channel has no product with this SKU."),
                response=_not_found.response,
            ),
        },
        tags=["products"],
    )
    def get(self, request, sku: str):
        product = self.channel.products.filter(sku=sku).first()
        if product is None:
            raise NotFound(_("This channel has no product with this SKU."), code="not_found")
        return Response(ProductSerializer(product).data)

    @extend_schema(
        operation_id="product_upsert",
        summary=_lazy("Create or update a product by SKU"),
        description=_lazy(
            "The whole product (201 when new). A lower price than before, or in stock after "
            "being out of stock, sends the price-drop and restock messages to the members with "
            "the product in their cart (a cart_add event named with the SKU, and no purchase "
            "or cart_cleared since) or favourites (a custom event named favorite with the "
            "property sku). Sending the same data again changes nothing and sends nothing."
        ),
        request=ProductUpsertSerializer,
        responses={
            200: ProductSerializer,
            201: ProductSerializer,
            400: _errors,
            401: _unauthorized,
        },
        tags=["products"],
    )
    def put(self, request, sku: str):
        if not sku or len(sku) > SKU_MAX:
            raise ValidationError({"sku": [_("1 to %(max)d characters.") % {"max": SKU_MAX}]})
        serializer = ProductUpsertSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        product, created = products.product_upsert(
            channel=self.channel, sku=sku, data=serializer.validated_data
        )
        return Response(
            ProductSerializer(product).data,
            status=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
        )
