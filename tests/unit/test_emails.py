"""The e-mail registration rule as a plain function (R1.1)."""

from __future__ import annotations

import pytest

from govchat.agencies import agencies_from_config
from govchat.emails import Accepted, Refusal, check_registration_email
from tests.conftest import TEST_SETTINGS
from tests.email_cases import ACCEPTED, REFUSED

AGENCIES = agencies_from_config(TEST_SETTINGS["registration"]["agencies"])


@pytest.mark.parametrize(("address", "normal", "agency_domain"), ACCEPTED)
def test_official_address_is_accepted_in_normal_form_with_most_specific_agency(address: str, normal: str, agency_domain: str) -> None:
    verdict = check_registration_email(address, AGENCIES)
    assert isinstance(verdict, Accepted)
    assert verdict.address == normal
    assert verdict.agency.domain == agency_domain


@pytest.mark.parametrize(("why", "address", "refusal"), REFUSED, ids=[why for why, _, _ in REFUSED])
def test_hostile_or_foreign_address_is_refused_with_the_reason_that_fits(why: str, address: object, refusal: Refusal) -> None:
    assert check_registration_email(address, AGENCIES) is refusal


def test_every_refusal_sentence_is_in_malay_and_english() -> None:
    for refusal in Refusal:
        malay, english = refusal.message.split(" / ")
        assert "e-mel" in malay.lower() and "e-mel" not in english.lower()
        assert "alamat" not in english.lower() and ("e-mail" in english.lower() or "address" in english.lower())


def test_unlisted_government_domain_falls_back_to_gov_my() -> None:
    verdict = check_registration_email("a@jkr.gov.my", AGENCIES)
    assert isinstance(verdict, Accepted) and verdict.agency.domain == "gov.my"


def test_without_gov_my_catch_all_only_listed_agencies_register() -> None:
    only_mampu = agencies_from_config([{"domain": "mampu.gov.my", "name": "MAMPU", "ministry": "JPM"}])
    assert check_registration_email("a@jkr.gov.my", only_mampu) is Refusal.NOT_GOVERNMENT
    assert isinstance(check_registration_email("a@mampu.gov.my", only_mampu), Accepted)
