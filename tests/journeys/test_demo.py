"""The demo's welcome step sequence."""

import pytest

from crm.demo import demo_welcome_sequence
from journeys.models import Sequence
from journeys.sequences import timeline_preview
from tests.factories import ChannelFactory

pytestmark = pytest.mark.django_db


def test_demo_has_a_welcome_sequence_made_once(clock):
    channel = ChannelFactory()
    demo_welcome_sequence(channel)
    demo_welcome_sequence(channel)
    sequence = Sequence.objects.get(channel=channel)
    [(_first, day_two), (_second, day_five)] = timeline_preview(sequence, start=clock.now)
    assert (day_two - clock.now).days == 1
    assert (day_five - day_two).days == 3
