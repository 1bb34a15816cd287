"""The information portal (R8.5): every page in Malay and English, with the helpdesk contact and no remote assets."""

from __future__ import annotations

import re

import pytest
import requests

from tests.harness import GovChatServer

PORTAL = "/_synapse/client/govchat/portal"
PAGES = ["", "/register", "/apps", "/passwords", "/guide", "/faq", "/helpdesk", "/circulars"]


@pytest.mark.parametrize("page", PAGES)
@pytest.mark.parametrize("lang", ["ms", "en"])
def test_every_portal_page_is_served_in_both_languages_without_remote_assets(govchat: GovChatServer, page: str, lang: str) -> None:
    answer = requests.get(f"{govchat.base_url}{PORTAL}{page}?lang={lang}", timeout=30)
    assert answer.status_code == 200 and answer.headers["Content-Type"].startswith("text/html")
    assert f'<html lang="{lang}">' in answer.text
    assert not re.search(r'(src|href)="(https?:)?//', answer.text.replace('href="mailto:', ""))


def test_portal_names_the_helpdesk_and_the_password_rules(govchat: GovChatServer) -> None:
    helpdesk = requests.get(f"{govchat.base_url}{PORTAL}/helpdesk", timeout=30).text
    assert "helpdesk@govchat.localhost" in helpdesk
    assert "12" in requests.get(f"{govchat.base_url}{PORTAL}/passwords?lang=en", timeout=30).text
    assert "Element" in requests.get(f"{govchat.base_url}{PORTAL}/apps", timeout=30).text


def test_unknown_portal_page_is_404(govchat: GovChatServer) -> None:
    assert requests.get(f"{govchat.base_url}{PORTAL}/tiada", timeout=30).status_code == 404
