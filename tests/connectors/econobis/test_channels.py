"""Econobis intake sources → the sign-up channel: as the cooperations type them (any case, stray spaces), an
unknown source is `other`, and every answer is one the model's `Channel` allows."""

from __future__ import annotations

import pytest

from connectors.econobis.mapping import SOURCE_CHANNELS, channel_of
from hub.canonical.models import CHANNELS


@pytest.mark.parametrize(
    ("sources", "channel"),
    [
        (["Website"], "web_form"),
        (["website"], "web_form"),
        (["  WEBSITE "], "web_form"),
        (["digitaal   energieloket"], "energy_desk"),
        (["Mobiel Energieloket\t"], "energy_desk"),
        (["bewonersavond"], "event"),
        (["Flyer in de bus"], "other"),
        (["Flyer", " telefoon"], "phone"),  # the first source with a channel decides
        (["Telefoon", "Website"], "phone"),
    ],
)
def test_sources_map_case_and_whitespace_insensitively(sources, channel):
    assert channel_of(sources) == channel


@pytest.mark.parametrize("sources", [[], ["", "  "], [None]])
def test_no_source_is_no_channel_and_never_a_crash(sources):
    assert channel_of(sources) is None


def test_every_mapped_channel_is_one_the_model_allows():
    assert set(SOURCE_CHANNELS.values()) <= set(CHANNELS)
    assert channel_of(["iets nieuws"]) in CHANNELS
