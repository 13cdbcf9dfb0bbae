import logging

from django.http import HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from .models import Channel
from .webhook import WebhookRejected, webhook_receive

logger = logging.getLogger(__name__)


@csrf_exempt  # LINE cannot send a CSRF token: the signature authenticates the request.
@require_POST
def webhook(request, webhook_key):
    channel = get_object_or_404(Channel.objects.active(), webhook_key=webhook_key)
    try:
        webhook_receive(
            channel=channel,
            body=request.body,
            signature=request.headers.get("X-Line-Signature"),
        )
    except WebhookRejected as rejected:
        logger.warning("Webhook for channel %s refused: %s", channel.pk, rejected.message)
        return JsonResponse({"message": rejected.message}, status=rejected.status)
    return HttpResponse(status=200)
