import secrets

import factory
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group

from linebot.models import Channel, Platform


class ChannelFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Channel

    name = factory.Sequence(lambda n: f"Shop {n}")
    channel_id = factory.Sequence(lambda n: str(1650000000 + n))
    channel_secret = factory.LazyFunction(lambda: secrets.token_hex(16))
    access_token = factory.LazyFunction(lambda: secrets.token_urlsafe(40))
    bot_basic_id = factory.Sequence(lambda n: f"@shop{n}")
    platform = Platform.SANDBOX


class StaffFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"staff{n}")
    is_staff = True
    password = factory.PostGenerationMethodCall("set_password", "pw-for-tests-1")

    @factory.post_generation
    def role(self, create, extracted, **kwargs):
        if extracted:
            self.groups.add(Group.objects.get(name=extracted))
        self.save()
