from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from crm.demo import demo_conversations
from linebot.sandbox_sync import sandbox_channels_register, sandbox_wait


class Command(BaseCommand):
    help = (
        "Wait for the sandbox and the web app, register the sandbox channels, and on the first "
        "run play the demo friends' conversations through real webhooks."
    )

    def handle(self, *args, **options):
        for url in (settings.LINE_SANDBOX_URL, settings.SITE_URL + "/admin/login/"):
            if not sandbox_wait(url=url, timeout=90):
                raise CommandError(f"{url} did not answer.")
        sandbox_channels_register()
        self.stdout.write(demo_conversations())
        self.stdout.write(f"Sandbox phone view: {settings.LINE_SANDBOX_URL}/sandbox/")
