"""GCMeet's rules without a homeserver: conference names, claims, power levels, the rate limit."""

from __future__ import annotations

import hashlib
import time
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat
from synapse.module_api.errors import ConfigError

from jitsi_jwt.config import GCMeetConfig, SigningKey, asap_file_name, parse_gcmeet_config
from jitsi_jwt.rules import (
    CLOCK_SKEW_SECONDS,
    CREATOR_POWER_LEVEL,
    Member,
    avatar_http_url,
    build_claims,
    conference_name,
    display_name,
    is_joined,
    is_valid_room_id,
    issue_token,
    power_level,
    room_id_from_conference,
)
from synapse_modules.common.rate_limit import take

SECRET = "s" * 40
CONFIG = GCMeetConfig(
    domain="meet.example.gov.my",
    app_id="govchat",
    audience="jitsi",
    signing=SigningKey(algorithm="HS256", key=SECRET),
    token_lifetime_seconds=120,
    moderator_power_level=50,
    rate_limit_per_minute=60,
    rate_limit_burst=3,
)
MEMBER = Member(user_id="@siti:govchat.localhost", display_name="Siti", avatar_url="", power_level=0)
ROOM = "!abc:govchat.localhost"


# A worked example of the rule (RFC 4648 base32 of the UTF-8 room ID, "=" padding
# dropped, lower case), written out once rather than recomputed by the test.
ROOM_CONFERENCE = "efqweyz2m5xxmy3imf2c43dpmnqwy2dpon2a"


def test_conference_name_is_lower_case_unpadded_base32_of_the_room_id() -> None:
    assert conference_name(ROOM) == ROOM_CONFERENCE
    assert room_id_from_conference(ROOM_CONFERENCE) == room_id_from_conference(ROOM_CONFERENCE.upper()) == ROOM


def test_rooms_differing_only_in_letter_case_get_different_conferences() -> None:
    assert conference_name("!AbC:govchat.localhost") != conference_name("!abc:govchat.localhost")


def test_a_name_that_is_not_a_room_is_not_a_conference() -> None:
    assert room_id_from_conference("lobby") is None


@pytest.mark.parametrize("room_id", ["!abc:govchat.localhost", "!T7fzYy8Kl-tEYKBj_MZzmY1sgLjbA6Sax35to_xT4hM"])
def test_room_ids_of_every_version_are_accepted(room_id: str) -> None:
    assert is_valid_room_id(room_id)


@pytest.mark.parametrize("room_id", ["", "abc:server", "!", "! spaced:server", 5, None, "!" + "a" * 300])
def test_malformed_room_ids_are_refused(room_id: object) -> None:
    assert not is_valid_room_id(room_id)


@pytest.mark.parametrize(
    ("content", "joined"),
    [({"membership": "join"}, True), ({"membership": "invite"}, False), ({"membership": "leave"}, False),
     ({"membership": "ban"}, False), ({"membership": "knock"}, False), (None, False)],
)
def test_only_joined_users_count_as_members(content: dict[str, Any] | None, joined: bool) -> None:
    assert is_joined(content) is joined


def test_claims_carry_everything_prosody_checks() -> None:
    claims = build_claims(CONFIG, MEMBER, ROOM, now=1_000_000, jti="j1")
    assert claims == {
        "iss": "govchat",
        "aud": "jitsi",
        "sub": "meet.example.gov.my",
        "room": ROOM_CONFERENCE,
        "iat": 1_000_000,
        "nbf": 1_000_000 - CLOCK_SKEW_SECONDS,
        "exp": 1_000_120,
        "jti": "j1",
        "moderator": False,
        "context": {"user": {"id": MEMBER.user_id, "name": "Siti", "avatar": "", "moderator": False}},
    }


@pytest.mark.parametrize(("level", "moderator"), [(49, False), (50, True), (100, True)])
def test_moderator_when_power_level_reaches_the_threshold(level: int, moderator: bool) -> None:
    member = Member(MEMBER.user_id, "Siti", "", level)
    assert build_claims(CONFIG, member, ROOM, now=0)["moderator"] is moderator


def read_issued(token: str, key: str) -> dict[str, Any]:
    """The claims of a token GovChat issued, checked against the key Prosody holds (its expiry is Prosody's to judge)."""
    return dict(jwt.decode(token, key, algorithms=["HS256", "RS256"], audience="jitsi", options={"verify_exp": False}))


def test_issued_token_is_signed_with_the_configured_secret_and_names_the_conference() -> None:
    issued = issue_token(CONFIG, MEMBER, ROOM, now=1_000_000)
    assert jwt.get_unverified_header(issued.jwt) == {"alg": "HS256", "typ": "JWT"}
    claims = read_issued(issued.jwt, SECRET)
    assert {key: claims[key] for key in ("iss", "aud", "sub", "room", "iat", "moderator")} == {
        "iss": "govchat", "aud": "jitsi", "sub": "meet.example.gov.my", "room": ROOM_CONFERENCE, "iat": 1_000_000, "moderator": False,
    }
    assert (issued.conference, issued.domain) == (ROOM_CONFERENCE, "meet.example.gov.my")
    assert issued.url == "https://meet.example.gov.my/" + ROOM_CONFERENCE


def test_issued_token_expires_after_the_configured_lifetime() -> None:
    issued = issue_token(CONFIG, MEMBER, ROOM, now=1_000)
    assert issued.expires_at == 1_120
    assert read_issued(issued.jwt, SECRET)["exp"] == 1_120


def test_rs256_token_names_its_key_and_is_signed_by_it(tmp_path: Path) -> None:
    key_file = tmp_path / "gcmeet_rs256.key"
    private_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    key_file.write_bytes(private_key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption()))
    config = parse_gcmeet_config(
        {"domain": "meet.x", "app_id": "govchat", "audience": "jitsi", "algorithm": "RS256", "rs256_private_key_path": str(key_file)}
    )
    issued = issue_token(config, MEMBER, ROOM, now=int(time.time()))
    header = jwt.get_unverified_header(issued.jwt)
    assert header["alg"] == "RS256" and header["kid"] == config.signing.kid
    assert config.signing.public_pem is not None and "PRIVATE" not in config.signing.public_pem
    assert read_issued(issued.jwt, config.signing.public_pem)["room"] == ROOM_CONFERENCE


def test_power_levels_follow_the_specification() -> None:
    levels = {"users": {"@a:x": 100, "@b:x": "50"}, "users_default": 10}
    creators = frozenset({"@a:x"})
    assert power_level("@a:x", levels, creators) == 100
    assert power_level("@b:x", levels, creators) == 50
    assert power_level("@c:x", levels, creators) == 10
    assert power_level("@a:x", None, creators) == 100 and power_level("@c:x", None, creators) == 0
    assert power_level("@a:x", levels, creators, creators_outrank_everyone=True) == CREATOR_POWER_LEVEL


def test_display_name_and_avatar_come_from_the_membership() -> None:
    assert display_name("@siti:x", {"displayname": " Siti "}) == "Siti"
    assert display_name("@siti:x", {}) == "siti"
    assert avatar_http_url("https://hs/", {"avatar_url": "mxc://hs/abc"}) == "https://hs/_matrix/media/v3/download/hs/abc"
    assert avatar_http_url("https://hs/", {"avatar_url": "https://evil/x"}) == ""


def test_bucket_allows_a_burst_then_refills_at_the_rate() -> None:
    # One token a second, burst 3: the shared bucket's rule, as the database row sees it.
    tokens, updated = None, None
    answers = []
    for _ in range(4):
        decision = take(tokens, updated, 0, per_minute=60, burst=3)
        answers.append(decision.allowed)
        if decision.allowed:
            tokens, updated = decision.millitokens, 0
    assert answers == [True, True, True, False]
    assert take(tokens, updated, 0, 60, 3).retry_after_ms == 1000
    assert not take(tokens, updated, 500, 60, 3).allowed
    assert take(tokens, updated, 1000, 60, 3).allowed
    assert take(None, None, 0, 60, 3).allowed, "a new user's bucket is full"


def test_config_refuses_a_wildcard_audience_and_short_secrets() -> None:
    base = {"domain": "meet.x", "app_id": "govchat", "audience": "jitsi", "app_secret": SECRET}
    assert parse_gcmeet_config(base).signing.algorithm == "HS256"
    for change in ({"audience": "*"}, {"app_secret": "short"}, {"algorithm": "none"}, {"token_lifetime_seconds": 901}):
        with pytest.raises(ConfigError):
            parse_gcmeet_config({**base, **change})


def test_asap_file_name_is_the_sha256_of_the_kid() -> None:
    assert asap_file_name("govchat-1") == hashlib.sha256(b"govchat-1").hexdigest() + ".pem"
