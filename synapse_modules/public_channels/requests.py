"""What an administrator's channel request must look like: checked in full before anything is created."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from synapse_modules.common.channels import INFO_ALIAS_LOCALPART
from synapse_modules.common.refusals import InvalidRequest

MAX_NAME_LENGTH = 100
MAX_TOPIC_LENGTH = 1000
_ALIAS_LOCALPART = re.compile(r"[a-z0-9][a-z0-9._=-]{0,63}")
_USER_ID = re.compile(r"@[a-z0-9._=/+-]+:[A-Za-z0-9.:-]+")


@dataclass(frozen=True)
class NewChannel:
    name: str
    alias_localpart: str
    topic: str
    owners: tuple[str, ...]

    def alias(self, server_name: str) -> str:
        return f"#{self.alias_localpart}:{server_name}"


def parse_new_channel(body: Any, server_name: str) -> NewChannel:
    if not isinstance(body, dict):
        raise InvalidRequest("body", "Kandungan permintaan mesti objek JSON. / The request body must be a JSON object.")
    name = body.get("name")
    if not isinstance(name, str) or not name.strip():
        raise InvalidRequest("name", "Medan name (nama saluran) wajib diisi. / The name field (channel name) is required.")
    if len(name.strip()) > MAX_NAME_LENGTH:
        raise InvalidRequest(
            "name",
            f"Medan name melebihi {MAX_NAME_LENGTH} aksara. / The name field is longer than {MAX_NAME_LENGTH} characters.",
        )
    topic = body.get("topic", "")
    if not isinstance(topic, str) or len(topic) > MAX_TOPIC_LENGTH:
        raise InvalidRequest(
            "topic",
            f"Medan topic mesti teks hingga {MAX_TOPIC_LENGTH} aksara. / The topic field must be text of at most {MAX_TOPIC_LENGTH} characters.",
        )
    return NewChannel(
        name=name.strip(),
        alias_localpart=parse_alias_localpart(body.get("alias"), server_name),
        topic=topic.strip(),
        owners=parse_owner_list(body.get("owners", []), server_name),
    )


def parse_alias_localpart(raw: Any, server_name: str) -> str:
    """`pengumuman` or `#pengumuman:<server_name>` -> `pengumuman`."""
    problem = InvalidRequest(
        "alias",
        "Medan alias mesti seperti pengumuman-jpa atau #pengumuman-jpa:"
        f"{server_name} (huruf kecil, angka, . _ = -). / "
        f"The alias field must look like pengumuman-jpa or #pengumuman-jpa:{server_name} "
        "(lower-case letters, digits, . _ = -).",
    )
    if not isinstance(raw, str):
        raise problem
    localpart = raw.strip()
    if localpart.startswith("#"):
        suffix = f":{server_name}"
        if not localpart.endswith(suffix):
            raise problem
        localpart = localpart[1 : -len(suffix)]
    if not _ALIAS_LOCALPART.fullmatch(localpart):
        raise problem
    if localpart == INFO_ALIAS_LOCALPART:
        raise InvalidRequest(
            "alias",
            "Alias info dikhaskan untuk saluran INFO. / The alias info is reserved for the INFO channel.",
        )
    return localpart


def parse_owner_list(raw: Any, server_name: str) -> tuple[str, ...]:
    if not isinstance(raw, list):
        raise InvalidRequest(
            "owners",
            "Medan owners mesti senarai ID pengguna. / The owners field must be a list of user IDs.",
        )
    owners: list[str] = []
    for entry in raw:
        owner = parse_user_id(entry, server_name, field="owners")
        if owner not in owners:
            owners.append(owner)
    return tuple(owners)


def parse_user_id(raw: Any, server_name: str, field: str = "user_id") -> str:
    if not isinstance(raw, str) or not _USER_ID.fullmatch(raw.strip()) or not raw.strip().endswith(f":{server_name}"):
        raise InvalidRequest(
            field,
            f"Medan {field}: {raw!r} bukan ID pengguna pelayan ini (@nama:{server_name}). / "
            f"The {field} field: {raw!r} is not a user ID on this server (@name:{server_name}).",
        )
    return raw.strip()


def unknown_user(field: str, user_id: str) -> InvalidRequest:
    return InvalidRequest(
        field,
        f"Medan {field}: pengguna {user_id} tidak wujud. / The {field} field: user {user_id} does not exist.",
    )


def alias_taken(alias: str) -> InvalidRequest:
    return InvalidRequest(
        "alias",
        f"Medan alias: {alias} sudah digunakan. / The alias field: {alias} is already in use.",
    )
