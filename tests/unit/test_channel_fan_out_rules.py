"""Typing and presence in channels: the rules and their settings (docs/capacity.md)."""

from __future__ import annotations

import pytest
from synapse.module_api.errors import ConfigError

from synapse_modules.public_channels.config import parse_public_channels_config
from synapse_modules.public_channels.rules import passes_typing_on, rooms_hidden_from_presence


def test_typing_in_a_channel_is_not_passed_on_by_default() -> None:
    assert not passes_typing_on(in_channel=True, deliver_typing=parse_public_channels_config({}).deliver_typing)


def test_typing_outside_channels_is_always_passed_on() -> None:
    assert passes_typing_on(in_channel=False, deliver_typing=False)


def test_operator_may_pass_typing_on_in_channels() -> None:
    assert passes_typing_on(in_channel=True, deliver_typing=parse_public_channels_config({"deliver_typing": True}).deliver_typing)


def test_deliver_typing_must_be_true_or_false() -> None:
    with pytest.raises(ConfigError, match="deliver_typing"):
        parse_public_channels_config({"deliver_typing": "no"})


def test_channels_are_hidden_from_presence_by_default() -> None:
    share = parse_public_channels_config({}).share_presence
    assert rooms_hidden_from_presence(["!info:x", "!saluran:x"], share) == {"!info:x", "!saluran:x"}


def test_operator_may_share_presence_in_channels() -> None:
    assert rooms_hidden_from_presence(["!info:x"], parse_public_channels_config({"share_presence": True}).share_presence) == frozenset()
