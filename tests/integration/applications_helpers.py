"""Helpers shared by the applications tests: apply, act, read server notices."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

import requests

from tests.harness import GovChatServer, User

API = "/_synapse/client/govchat/v1/applications"


def applicant_details(email: str, **overrides: str) -> dict[str, str]:
    return {
        "name": "Siti Aminah binti Ali",
        "organisation": "MAMPU",
        "division": "Bahagian Transformasi Digital",
        "address": "Aras 6, Blok B2, Kompleks JPM, Putrajaya",
        "position": "Ketua Penolong Pengarah, F48",
        "phone": "03-8872 3000",
        "email": email,
        **overrides,
    }


def apply(server: GovChatServer, user: User, kind: str, details: dict[str, Any]) -> requests.Response:
    body = {"kind": kind, "applicant": applicant_details(user.email or "siti@mampu.gov.my"), "details": details}
    return server.request("POST", API, user.access_token, json=body)


def submitted(server: GovChatServer, user: User, kind: str, details: dict[str, Any]) -> str:
    answer = apply(server, user, kind, details)
    assert answer.status_code == 201, answer.text
    assert answer.json()["state"] == "submitted"
    return str(answer.json()["application_id"])


def act(server: GovChatServer, user: User, application_id: str, action: str, note: str = "") -> requests.Response:
    return server.request("POST", f"{API}/{quote(application_id)}/{action}", user.access_token, json={"note": note})


def fetch(server: GovChatServer, user: User, application_id: str) -> requests.Response:
    return server.request("GET", f"{API}/{quote(application_id)}", user.access_token)


def official_user(server: GovChatServer, domain: str = "mampu.gov.my") -> User:
    return server.register_with_email(f"pegawai.{uuid.uuid4().hex[:8]}@{domain}")


def make_head(server: GovChatServer, admin: User, domain: str = "mampu.gov.my") -> User:
    head = official_user(server, domain)
    answer = server.request("POST", f"{API}/heads", admin.access_token, json={"domain": domain, "user_id": head.user_id})
    assert answer.status_code == 200, answer.text
    return head


def server_notices(server: GovChatServer, user: User, wanted: Callable[[list[str]], bool], timeout: float = 30) -> list[str]:
    """Bodies of the notices in the user's server-notices room, joining its invite, once `wanted` holds."""
    notices_user = f"@govchat-notices:{server.server_name}"
    deadline = time.monotonic() + timeout
    bodies: list[str] = []
    since = ""
    while time.monotonic() < deadline:
        # Incremental after the first: Synapse caches an initial sync for 2 minutes, so repeating it
        # would keep answering from before the notices room's invite (queued notices arrive later).
        sync = server.client_api("GET", "/sync?timeout=0" + (f"&since={quote(since)}" if since else ""), user.access_token).json()
        since = sync.get("next_batch", since)
        for room_id in sync.get("rooms", {}).get("invite", {}):
            server.client_api("POST", f"/rooms/{quote(room_id)}/join", user.access_token, json={})
        bodies = []
        for room_id in server.client_api("GET", "/joined_rooms", user.access_token).json()["joined_rooms"]:
            page = server.client_api("GET", f"/rooms/{quote(room_id)}/messages?dir=b&limit=100", user.access_token).json()
            bodies += [
                event["content"].get("body", "")
                for event in page.get("chunk", [])
                if event.get("sender") == notices_user and event.get("type") == "m.room.message"
            ]
        if wanted(bodies):
            return bodies
        time.sleep(0.3)
    raise AssertionError(f"expected server notice not received by {user.user_id}; got {bodies}")


def audit_actions(application: dict[str, Any]) -> list[str]:
    return [entry["action"] for entry in application["audit"]]
