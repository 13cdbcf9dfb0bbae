import logging

from django.http import Http404, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from .channels import webhook_channel
from .webhook import WebhookRejected, webhook_receive

logger = logging.getLogger(__name__)


@csrf_exempt  # LINE cannot send a CSRF token: the signature authenticates the request.
@require_POST
def webhook(request, webhook_key):
    channel = webhook_channel(webhook_key)
    if channel is None:
        raise Http404
    signature = request.headers.get("X-Line-Signature")
    try:
        try:
            webhook_receive(channel=channel, body=request.body, signature=signature)
        except WebhookRejected as rejected:
            # The secret may have changed in another process: check against the row, once.
            fresh = webhook_channel(webhook_key, fresh=True) if rejected.status == 403 else None
            if fresh is None or fresh.channel_secret == channel.channel_secret:
                raise
            channel = fresh
            webhook_receive(channel=channel, body=request.body, signature=signature)
    except WebhookRejected as rejected:
        logger.warning("Webhook for channel %s refused: %s", channel.pk, rejected.message)
        return JsonResponse({"message": rejected.message}, status=rejected.status)
    return HttpResponse(status=200)
