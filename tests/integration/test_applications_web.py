"""The applications workflow once through the web pages, in a real headless Chromium."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
import requests
from selenium import webdriver
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions
from selenium.webdriver.support.ui import WebDriverWait

from tests.browser import chromium, page_replaced, screenshot
from tests.harness import GovChatServer, User
from tests.integration.applications_helpers import make_head, official_user

PAGES = "/_synapse/client/govchat/applications"


@pytest.fixture(scope="module")
def browser() -> Iterator[webdriver.Chrome]:
    with chromium() as driver:
        yield driver


def sign_in(driver: webdriver.Chrome, server: GovChatServer, user: User) -> None:
    driver.delete_all_cookies()
    driver.get(server.base_url + PAGES)
    WebDriverWait(driver, 10).until(expected_conditions.url_contains("/sign-in"))
    driver.find_element(By.ID, "user").send_keys(user.user_id)
    driver.find_element(By.ID, "password").send_keys(user.password)
    driver.find_element(By.ID, "sign-in").click()
    WebDriverWait(driver, 10).until(expected_conditions.presence_of_element_located((By.ID, "nav-list")))


def click_and_wait(driver: webdriver.Chrome, element_id: str) -> None:
    """Click a submit button and wait for the next page to replace this one."""
    page = driver.find_element(By.TAG_NAME, "html")
    driver.find_element(By.ID, element_id).click()
    WebDriverWait(driver, 10).until(page_replaced(page))


def test_channel_application_through_the_web_pages(browser: webdriver.Chrome, govchat: GovChatServer, admin: User) -> None:
    head = make_head(govchat, admin)
    applicant = official_user(govchat)
    owner = official_user(govchat)

    browser.get(govchat.base_url + "/_synapse/client/govchat/portal")
    assert "GovChat" in browser.title
    screenshot(browser, "portal-home")

    browser.delete_all_cookies()
    browser.get(govchat.base_url + PAGES)
    WebDriverWait(browser, 10).until(expected_conditions.url_contains("/sign-in"))
    screenshot(browser, "sign-in")
    sign_in(browser, govchat, applicant)

    browser.get(govchat.base_url + PAGES + "/new")
    browser.find_element(By.ID, "kind-public_channel").click()
    assert browser.find_element(By.ID, "applicant.email").get_attribute("value") == applicant.email
    fields = {
        "applicant.name": "Siti Aminah", "applicant.division": "BTD", "applicant.address": "Putrajaya",
        "applicant.position": "F48", "applicant.phone": "03-8872 3000",
        "details.channel_name": f"Pengumuman Web {uuid.uuid4().hex[:4]}", "details.owner_name": "Encik Pemilik",
        "details.owner_email": owner.email or "",
    }
    for name, value in fields.items():
        browser.find_element(By.ID, name).send_keys(value)
    screenshot(browser, "application-form")
    click_and_wait(browser, "submit")
    assert browser.find_element(By.ID, "state").text == "submitted"
    application_url = browser.current_url
    application_id = application_url.rsplit("/", 1)[-1]

    browser.get(govchat.base_url + PAGES)
    assert application_id in browser.find_element(By.ID, "applications").text
    screenshot(browser, "application-list")
    browser.find_element(By.ID, "sign-out").click()
    WebDriverWait(browser, 10).until(expected_conditions.url_contains("/sign-in"))

    sign_in(browser, govchat, head)
    browser.get(application_url)
    assert not browser.find_elements(By.ID, "do-approve")
    browser.find_element(By.ID, "note").send_keys("Disokong")
    click_and_wait(browser, "do-endorse")
    assert browser.find_element(By.ID, "state").text == "endorsed"

    sign_in(browser, govchat, admin)
    browser.get(application_url)
    screenshot(browser, "admin-review")
    browser.find_element(By.ID, "note").send_keys("Lulus")
    click_and_wait(browser, "do-approve")
    assert browser.find_element(By.ID, "state").text == "carried_out"
    assert "carried_out" in browser.find_element(By.ID, "audit").text
    screenshot(browser, "admin-review-done")


def test_form_posts_without_the_csrf_token_are_refused(govchat: GovChatServer) -> None:
    user = official_user(govchat)
    session = requests.Session()
    started = session.post(govchat.base_url + PAGES + "/session", json={"access_token": user.access_token}, timeout=30)
    assert started.status_code == 200
    cookie = next(c for c in session.cookies if c.name == "govchat_session")
    assert cookie.has_nonstandard_attr("HttpOnly") and cookie.path == "/_synapse/client/govchat/"
    form = {"kind": "public_channel", "applicant.name": "X"}
    refused = session.post(govchat.base_url + PAGES + "/new", data=form, allow_redirects=False, timeout=30)
    assert refused.status_code == 403
    assert session.get(govchat.base_url + PAGES, timeout=30).status_code == 200  # still signed in: nothing else happened


def test_session_accepts_only_json_so_a_cross_site_form_cannot_sign_anyone_in(govchat: GovChatServer) -> None:
    user = official_user(govchat)
    answer = requests.post(govchat.base_url + PAGES + "/session", data={"access_token": user.access_token}, timeout=30)
    assert answer.status_code == 403 and "govchat_session" not in answer.cookies


def test_pages_need_signing_in(govchat: GovChatServer) -> None:
    answer = requests.get(govchat.base_url + PAGES + "/new", allow_redirects=False, timeout=30)
    assert answer.status_code == 302 and "/sign-in?next=" in answer.headers["Location"]
