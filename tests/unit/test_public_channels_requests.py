"""An administrator's channel request is checked field by field before anything is created."""

from __future__ import annotations

import pytest

from synapse_modules.public_channels.requests import InvalidRequest, parse_new_channel
from synapse_modules.public_channels.service import channel_power_levels

SERVER = "govchat.localhost"


def test_valid_request_is_normalised() -> None:
    new = parse_new_channel({"name": " Pengumuman ", "alias": "#pengumuman-jpa:govchat.localhost", "owners": ["@a:govchat.localhost"]}, SERVER)
    assert (new.name, new.alias_localpart, new.topic, new.owners) == ("Pengumuman", "pengumuman-jpa", "", ("@a:govchat.localhost",))


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ([], "body"),
        ({"alias": "x"}, "name"),
        ({"name": "   ", "alias": "x"}, "name"),
        ({"name": "N"}, "alias"),
        ({"name": "N", "alias": "Huruf Besar"}, "alias"),
        ({"name": "N", "alias": "#x:other.server"}, "alias"),
        ({"name": "N", "alias": "info"}, "alias"),
        ({"name": "N", "alias": "x", "topic": 5}, "topic"),
        ({"name": "N", "alias": "x", "owners": "@a:govchat.localhost"}, "owners"),
        ({"name": "N", "alias": "x", "owners": ["@a:elsewhere.my"]}, "owners"),
        ({"name": "N", "alias": "x", "owners": ["bukan-id"]}, "owners"),
    ],
)
def test_bad_request_names_the_field(body: object, field: str) -> None:
    with pytest.raises(InvalidRequest) as problem:
        parse_new_channel(body, SERVER)
    assert problem.value.field == field
    assert " / " in problem.value.message  # Malay sentence / English sentence


def test_power_levels_let_owners_post_and_members_read() -> None:
    levels = channel_power_levels(("@a:govchat.localhost",))
    assert levels["users"] == {"@a:govchat.localhost": 50}
    assert levels["users_default"] < levels["events_default"] <= 50
    assert levels["state_default"] == levels["events"]["m.room.power_levels"] == 100


def test_archived_power_levels_let_nobody_but_the_creator_post() -> None:
    levels = channel_power_levels(("@a:govchat.localhost",), archived=True)
    assert levels["users"] == {} and levels["events_default"] == 100
