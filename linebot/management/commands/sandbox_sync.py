from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from linebot.sandbox_sync import sandbox_channels_register, sandbox_wait


class Command(BaseCommand):
    help = "Register every active sandbox channel (credentials, webhook URL) with the sandbox."

    def add_arguments(self, parser):
        parser.add_argument("--wait", type=float, default=0, help="seconds to wait for it")

    def handle(self, *args, **options):
        if options["wait"] and not sandbox_wait(
            url=settings.LINE_SANDBOX_URL, timeout=options["wait"]
        ):
            raise CommandError(f"The sandbox at {settings.LINE_SANDBOX_URL} did not answer.")
        for channel in sandbox_channels_register():
            self.stdout.write(f"Sandbox knows channel {channel.channel_id} ({channel.name}).")
