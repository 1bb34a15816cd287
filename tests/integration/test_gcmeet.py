"""GCMeet (R6): Jitsi tokens only for people joined to the conversation, against a real homeserver."""

from __future__ import annotations

import base64
import hashlib
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import jwt
import pytest
import yaml

from tests.harness import GovChatServer, User

GCMEET = "/_synapse/client/govchat/v1/gcmeet"
ALL_CLAIMS = ["iss", "aud", "sub", "room", "exp", "nbf", "iat", "jti"]


def openid_token(server: GovChatServer, user: User) -> dict[str, Any]:
    answer = server.client_api("POST", f"/user/{quote(user.user_id)}/openid/request_token", user.access_token, json={})
    assert answer.status_code == 200, answer.text
    return answer.json()


def request_jwt(server: GovChatServer, user: User, room_id: str) -> Any:
    """The Element widget way: an OpenID token in the body, no access token."""
    return server.request("POST", f"{GCMEET}/token", json={"room_id": room_id, "openid_token": openid_token(server, user)})


def verify_in_room(server: GovChatServer, user: User, room_id: str) -> dict[str, Any]:
    """What Prosody's mod_auth_matrix_user_verification asks, with uvs_base_url pointing at GCMeet."""
    token = openid_token(server, user)
    body = {"token": token["access_token"], "room_id": room_id, "matrix_server_name": token["matrix_server_name"]}
    answer = server.request("POST", f"{GCMEET}/verify/user_in_room", json=body)
    assert answer.status_code == 200, answer.text
    return answer.json()


def create_room(server: GovChatServer, creator: User) -> str:
    answer = server.client_api("POST", "/createRoom", creator.access_token, json={"preset": "private_chat"})
    assert answer.status_code == 200, answer.text
    return str(answer.json()["room_id"])


def act(server: GovChatServer, actor: User, room_id: str, action: str, **body: Any) -> None:
    answer = server.client_api("POST", f"/rooms/{quote(room_id)}/{action}", actor.access_token, json=body)
    assert answer.status_code == 200, answer.text


def room_id_of(conference: str) -> str:
    """The requirement's conference name read back: lower-case, unpadded base32 of the room ID."""
    assert conference == conference.lower() and "=" not in conference, conference
    return base64.b32decode(conference.upper() + "=" * (-len(conference) % 8)).decode("utf-8")


def hs256_secret(server: GovChatServer) -> str:
    return str(yaml.safe_load((server.data_dir / "secrets.yaml").read_text())["gcmeet_app_secret"])


@dataclass
class Conversation:
    room_id: str
    owner: User
    member: User
    invited: User
    left: User
    banned: User
    stranger: User
    other_room_member: User


@pytest.fixture(scope="module")
def conversation(govchat: GovChatServer) -> Conversation:
    owner, member, invited, left, banned, stranger, other = (govchat.register_plain_user() for _ in range(7))
    room_id = create_room(govchat, owner)
    for user in (member, invited, left, banned):
        act(govchat, owner, room_id, "invite", user_id=user.user_id)
    for user in (member, left, banned):
        act(govchat, user, room_id, "join")
    act(govchat, left, room_id, "leave")
    act(govchat, owner, room_id, "ban", user_id=banned.user_id, reason="test")
    create_room(govchat, other)
    return Conversation(room_id, owner, member, invited, left, banned, stranger, other)


def test_joined_member_gets_a_token_prosody_would_accept(govchat: GovChatServer, conversation: Conversation) -> None:
    answer = request_jwt(govchat, conversation.member, conversation.room_id)
    assert answer.status_code == 200, answer.text
    issued = answer.json()
    assert set(issued) == {"jwt", "conference", "domain", "url", "expires_at"}
    assert jwt.get_unverified_header(issued["jwt"])["alg"] == "HS256"
    claims = jwt.decode(
        issued["jwt"],
        hs256_secret(govchat),
        algorithms=["HS256"],
        issuer="govchat",
        audience="jitsi",
        options={"require": ALL_CLAIMS},
    )
    now = int(time.time())
    assert claims["sub"] == "meet.govchat.localhost" == issued["domain"]
    assert claims["room"] == issued["conference"]
    assert room_id_of(claims["room"]) == conversation.room_id
    assert issued["url"] == f"https://meet.govchat.localhost/{claims['room']}"
    assert claims["exp"] == issued["expires_at"] and claims["exp"] - claims["iat"] == 120
    assert abs(claims["iat"] - now) <= 5 and claims["nbf"] < claims["iat"]
    assert len(claims["jti"]) >= 16
    assert claims["context"]["user"] == {
        "id": conversation.member.user_id,
        "name": conversation.member.localpart,
        "avatar": "",
        "moderator": False,
    }
    assert claims["moderator"] is False


def test_each_token_has_its_own_jti(govchat: GovChatServer, conversation: Conversation) -> None:
    first = request_jwt(govchat, conversation.owner, conversation.room_id).json()["jwt"]
    second = request_jwt(govchat, conversation.owner, conversation.room_id).json()["jwt"]
    assert jwt.decode(first, options={"verify_signature": False})["jti"] != jwt.decode(second, options={"verify_signature": False})["jti"]


def test_room_creator_is_a_jitsi_moderator(govchat: GovChatServer, conversation: Conversation) -> None:
    issued = request_jwt(govchat, conversation.owner, conversation.room_id).json()
    claims = jwt.decode(issued["jwt"], hs256_secret(govchat), algorithms=["HS256"], audience="jitsi", issuer="govchat")
    assert claims["moderator"] is True and claims["context"]["user"]["moderator"] is True


def test_matrix_access_token_works_like_an_openid_token(govchat: GovChatServer, conversation: Conversation) -> None:
    answer = govchat.request("POST", f"{GCMEET}/token", conversation.member.access_token, json={"room_id": conversation.room_id})
    assert answer.status_code == 200, answer.text
    claims = jwt.decode(answer.json()["jwt"], hs256_secret(govchat), algorithms=["HS256"], audience="jitsi", issuer="govchat")
    assert claims["context"]["user"]["id"] == conversation.member.user_id


@pytest.mark.parametrize("who", ["invited", "left", "banned", "stranger", "other_room_member"])
def test_people_not_joined_to_the_conversation_get_no_token(govchat: GovChatServer, conversation: Conversation, who: str) -> None:
    user: User = getattr(conversation, who)
    for answer in (
        request_jwt(govchat, user, conversation.room_id),
        govchat.request("POST", f"{GCMEET}/token", user.access_token, json={"room_id": conversation.room_id}),
    ):
        assert answer.status_code == 403, answer.text
        assert answer.json()["errcode"] == "M_FORBIDDEN"
        assert "jwt" not in answer.json()
    verdict = verify_in_room(govchat, user, conversation.room_id)
    assert verdict == {"results": {"user": True, "room_membership": False}, "user_id": user.user_id, "power_levels": None}


def test_unknown_room_gets_the_same_answer_as_not_being_a_member(govchat: GovChatServer, conversation: Conversation) -> None:
    missing = request_jwt(govchat, conversation.member, "!doesnotexist:govchat.localhost")
    not_member = request_jwt(govchat, conversation.stranger, conversation.room_id)
    assert missing.status_code == not_member.status_code == 403
    assert missing.json() == not_member.json()


def test_member_who_leaves_gets_no_new_token(govchat: GovChatServer) -> None:
    owner, leaver = govchat.register_plain_user(), govchat.register_plain_user()
    room_id = create_room(govchat, owner)
    act(govchat, owner, room_id, "invite", user_id=leaver.user_id)
    act(govchat, leaver, room_id, "join")
    assert request_jwt(govchat, leaver, room_id).status_code == 200
    assert verify_in_room(govchat, leaver, room_id)["results"]["room_membership"] is True
    act(govchat, leaver, room_id, "leave")
    assert request_jwt(govchat, leaver, room_id).status_code == 403
    assert verify_in_room(govchat, leaver, room_id)["results"]["room_membership"] is False


def test_verification_endpoint_admits_joined_members_with_power_levels(govchat: GovChatServer, conversation: Conversation) -> None:
    verdict = verify_in_room(govchat, conversation.owner, conversation.room_id)
    assert verdict["results"] == {"user": True, "room_membership": True}
    assert verdict["user_id"] == conversation.owner.user_id
    # Synapse 1.163 creates room version 12, where the creator outranks every power level.
    assert verdict["power_levels"]["user"] >= 100
    assert verdict["power_levels"]["room"]["state_default"] == 50 and "users" not in verdict["power_levels"]["room"]
    assert verify_in_room(govchat, conversation.member, conversation.room_id)["power_levels"]["user"] == 0


@pytest.mark.parametrize("server_name", [None, "other.example.gov.my"])
def test_unknown_or_foreign_openid_tokens_are_refused(govchat: GovChatServer, conversation: Conversation, server_name: str | None) -> None:
    token = openid_token(govchat, conversation.member)
    if server_name is None:
        token["access_token"] = "not-a-real-token"
    else:
        token["matrix_server_name"] = server_name
    answer = govchat.request("POST", f"{GCMEET}/token", json={"room_id": conversation.room_id, "openid_token": token})
    assert answer.status_code == 401 and answer.json()["errcode"] == "M_UNKNOWN_TOKEN", answer.text
    body = {"token": token["access_token"], "room_id": conversation.room_id, "matrix_server_name": token["matrix_server_name"]}
    verdict = govchat.request("POST", f"{GCMEET}/verify/user_in_room", json=body).json()
    assert verdict == {"results": {"user": False, "room_membership": False}, "user_id": None, "power_levels": None}


def test_request_without_any_token_is_refused(govchat: GovChatServer, conversation: Conversation) -> None:
    answer = govchat.request("POST", f"{GCMEET}/token", json={"room_id": conversation.room_id})
    assert answer.status_code == 401 and answer.json()["errcode"] == "M_MISSING_TOKEN"
    answer = govchat.request("POST", f"{GCMEET}/token", "bogus", json={"room_id": conversation.room_id})
    assert answer.status_code == 401 and answer.json()["errcode"] == "M_UNKNOWN_TOKEN"


@pytest.mark.parametrize(
    "body",
    [b"{not json", b"[]", b'{"room_id": 5}', b'{"room_id": "no-bang:govchat.localhost"}', b'{"room_id": "!a:b", "openid_token": "x"}'],
)
def test_malformed_requests_get_400_in_both_languages(govchat: GovChatServer, conversation: Conversation, body: bytes) -> None:
    answer = govchat.request("POST", f"{GCMEET}/token", conversation.member.access_token, data=body)
    assert answer.status_code == 400, answer.text
    assert " / " in answer.json()["error"]


def test_too_many_token_requests_are_limited_per_user(govchat: GovChatServer, conversation: Conversation) -> None:
    hasty = govchat.register_plain_user()
    codes = [
        govchat.request("POST", f"{GCMEET}/token", hasty.access_token, json={"room_id": conversation.room_id}).status_code
        for _ in range(15)
    ]
    assert codes[:10] == [403] * 10 and codes[-1] == 429
    limited = govchat.request("POST", f"{GCMEET}/token", hasty.access_token, json={"room_id": conversation.room_id})
    assert limited.json()["errcode"] == "M_LIMIT_EXCEEDED" and limited.json()["retry_after_ms"] > 0
    # Another user is not affected.
    assert request_jwt(govchat, conversation.member, conversation.room_id).status_code == 200


def test_an_issued_jitsi_token_is_no_key_to_govchat(govchat: GovChatServer, conversation: Conversation) -> None:
    # Prosody checks the JWT's signature and expiry; GovChat itself only trusts Matrix tokens,
    # so a JWT (genuine or forged) handed to GovChat's own endpoints opens nothing.
    issued = request_jwt(govchat, conversation.member, conversation.room_id).json()["jwt"]
    as_bearer = govchat.request("POST", f"{GCMEET}/token", issued, json={"room_id": conversation.room_id})
    assert as_bearer.status_code == 401 and as_bearer.json()["errcode"] == "M_UNKNOWN_TOKEN", as_bearer.text
    as_openid = {"access_token": issued, "matrix_server_name": govchat.server_name}
    answer = govchat.request("POST", f"{GCMEET}/token", json={"room_id": conversation.room_id, "openid_token": as_openid})
    assert answer.status_code == 401 and answer.json()["errcode"] == "M_UNKNOWN_TOKEN", answer.text
    body = {"token": issued, "room_id": conversation.room_id, "matrix_server_name": govchat.server_name}
    verdict = govchat.request("POST", f"{GCMEET}/verify/user_in_room", json=body).json()
    assert verdict == {"results": {"user": False, "room_membership": False}, "user_id": None, "power_levels": None}


def test_well_known_tells_element_the_jitsi_domain(govchat: GovChatServer) -> None:
    answer = govchat.request("GET", "/.well-known/matrix/client")
    assert answer.status_code == 200, answer.text
    assert answer.json()["io.element.jitsi"]["preferredDomain"] == "meet.govchat.localhost"


# --- RS256 with a short lifetime: one extra homeserver -------------------------

RS256_SETTINGS = {
    "gcmeet": {
        "algorithm": "RS256",
        "domain": "meet.example.gov.my",
        "app_id": "govchat-rs",
        "audience": "govchat-meet",
        "token_lifetime_seconds": 5,
        "moderator_power_level": 100,
    }
}


@pytest.fixture(scope="module")
def rs256_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[GovChatServer]:
    with GovChatServer(data_dir=tmp_path_factory.mktemp("gcmeet-rs256"), settings=RS256_SETTINGS).running() as server:
        yield server


def asap_public_key(server: GovChatServer, kid: str) -> str:
    """What Prosody's asap_key_server lookup fetches."""
    answer = server.request("GET", f"{GCMEET}/asap/{hashlib.sha256(kid.encode()).hexdigest()}.pem")
    assert answer.status_code == 200, answer.text
    return answer.text


def test_rs256_token_is_signed_by_the_served_public_key_and_lives_the_configured_lifetime(rs256_server: GovChatServer) -> None:
    owner, member = rs256_server.register_plain_user(), rs256_server.register_plain_user()
    room_id = create_room(rs256_server, owner)
    act(rs256_server, owner, room_id, "invite", user_id=member.user_id)
    act(rs256_server, member, room_id, "join")

    answer = request_jwt(rs256_server, member, room_id)
    assert answer.status_code == 200, answer.text
    issued = answer.json()
    header = jwt.get_unverified_header(issued["jwt"])
    assert header["alg"] == "RS256" and header["kid"]
    public_key = asap_public_key(rs256_server, header["kid"])
    assert public_key.startswith("-----BEGIN PUBLIC KEY-----") and "PRIVATE" not in public_key
    # Prosody judges expiry; here only what GovChat put in the token is read.
    pinned = {"algorithms": ["RS256"], "issuer": "govchat-rs", "audience": "govchat-meet", "options": {"require": ALL_CLAIMS, "verify_exp": False}}
    claims = jwt.decode(issued["jwt"], public_key, **pinned)  # type: ignore[arg-type]
    assert claims["sub"] == "meet.example.gov.my" and room_id_of(claims["room"]) == room_id
    assert issued["url"] == f"https://meet.example.gov.my/{claims['room']}"
    assert claims["exp"] - claims["iat"] == 5 and issued["expires_at"] == claims["exp"]
    assert claims["moderator"] is False  # power level 0 below the configured 100
    owner_claims = jwt.decode(request_jwt(rs256_server, owner, room_id).json()["jwt"], public_key, **pinned)  # type: ignore[arg-type]
    assert owner_claims["moderator"] is True
    # Only the current key is served, under its own kid's name.
    assert rs256_server.request("GET", f"{GCMEET}/asap/{'0' * 64}.pem").status_code == 404


def test_tokens_never_reach_the_homeserver_log(govchat: GovChatServer, conversation: Conversation) -> None:
    token = openid_token(govchat, conversation.member)
    answer = govchat.request("POST", f"{GCMEET}/token", json={"room_id": conversation.room_id, "openid_token": token})
    body = {"token": token["access_token"], "room_id": conversation.room_id}
    govchat.request("POST", f"{GCMEET}/verify/user_in_room", json=body)
    log = govchat.synapse_logs()
    assert "GCMeet token issued" in log
    assert token["access_token"] not in log and answer.json()["jwt"] not in log
