"""The admin in a real browser: headless Chromium (Debian's chromium and chromium-driver)
against a live server of its own on 127.0.0.1. Logs in, searches a lead by email, filters
by tag through the autocomplete box, opens a rich lead and an empty one (their profile
cards must be on the first screen at 1440x900), then the dashboard; fails on any JavaScript
error. Screenshots of every step are kept in ``.artifacts/screenshots/`` (or
``$KARTRA_SCREENSHOTS``).

Skipped when Chromium is not installed, except under CI=true, where it must run.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from leads.models import Lead
from tests.factories import (
    make_audit_run,
    make_delivery,
    make_lead,
    make_lead_graph,
    make_sync_run,
)

IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--window-size=1440,900",
)
WAIT_SECONDS = 15
# Where the screenshots of each run are kept (CI keeps them as artefacts; README names it).
SCREENSHOTS = Path(
    os.environ.get(
        "KARTRA_SCREENSHOTS", Path(__file__).resolve().parents[3] / ".artifacts" / "screenshots"
    )
)


def _require_browser() -> None:
    missing = [
        name
        for name, path in (("chromium", CHROMIUM), ("chromium-driver", CHROMEDRIVER))
        if not path
    ]
    try:
        import selenium  # noqa: F401
    except ImportError:
        missing.append("selenium (pip: the test extras)")
    if not missing:
        return
    reason = f"browser test needs {', '.join(missing)} (apt-get install chromium chromium-driver)"
    if IN_CI:
        pytest.fail(f"CI=true: {reason}")
    pytest.skip(reason)


@pytest.fixture
def browser(tmp_path):
    _require_browser()
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in CHROMIUM_FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={tmp_path / 'chromium-profile'}")
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(options=options, service=Service(executable_path=CHROMEDRIVER))
    driver.set_page_load_timeout(WAIT_SECONDS * 2)
    try:
        yield driver
    finally:
        driver.quit()


@pytest.fixture
def loopback_server(settings, transactional_db):
    """A live server of our own on 127.0.0.1, started after this test's settings apply.

    pytest-django's ``live_server`` is session-wide: its middleware would keep whatever
    settings the first test to use it had (production defaults redirect to HTTPS).
    """
    from pytest_django.live_server_helper import LiveServer

    # Plain HTTP on loopback: the production defaults would mark cookies Secure.
    settings.SESSION_COOKIE_SECURE = settings.CSRF_COOKIE_SECURE = False
    settings.SECURE_SSL_REDIRECT = False
    server = LiveServer("127.0.0.1:0")
    try:
        yield server
    finally:
        server.stop()


def above_the_fold(driver, *ids: str) -> dict[str, str]:
    """The text of each element, having checked it is on the first screen, unscrolled."""
    driver.execute_script("window.scrollTo(0, 0)")
    height = driver.execute_script("return window.innerHeight")
    texts = {}
    for ident in ids:
        element = driver.find_element("id", ident)
        bottom = driver.execute_script(
            "return arguments[0].getBoundingClientRect().bottom", element
        )
        assert 0 < bottom <= height, f"#{ident} ends at {bottom}px, below the fold ({height}px)"
        texts[ident] = element.text
    return texts


class Session:
    """The browser plus what the test checks after every page: console errors, a picture."""

    def __init__(self, driver, base_url: str, shots: Path):
        self.driver, self.base_url, self.shots = driver, base_url, shots
        self.errors: list[str] = []
        shots.mkdir(parents=True, exist_ok=True)

    def open(self, path: str) -> None:
        self.driver.get(self.base_url + path)
        self.settle()

    def settle(self) -> None:
        from selenium.webdriver.support.ui import WebDriverWait

        WebDriverWait(self.driver, WAIT_SECONDS).until(
            lambda d: d.execute_script("return document.readyState") == "complete"
        )

    def snap(self, name: str) -> Path:
        path = self.shots / f"{name}.png"
        self.driver.save_screenshot(str(path))
        self.collect_errors(name)
        return path

    def collect_errors(self, where: str) -> None:
        for entry in self.driver.get_log("browser"):
            if entry["level"] == "SEVERE":
                self.errors.append(f"{where}: {entry['message']}")


def test_admin_in_headless_chromium(loopback_server, browser, tmp_path, django_user_model):
    # The server is set up first so that it stops last, after the browser has quit.
    from selenium.common.exceptions import StaleElementReferenceException
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    django_user_model.objects.create_superuser("ops", "ops@example.com", "browser-test-pw")
    graph = make_lead_graph(2, email="searched.lead@example.com")
    for _ in range(3):
        make_lead()
    empty = Lead.objects.create(email="empty.lead@example.com")
    make_delivery(lead=graph.lead, action="buy_product")
    make_sync_run()
    make_audit_run(graph.lead)
    wait = WebDriverWait(browser, WAIT_SECONDS)
    session = Session(browser, loopback_server.url, SCREENSHOTS)

    # "/" leads to the admin, which asks to log in.
    session.open("/")
    browser.find_element(By.NAME, "username").send_keys("ops")
    browser.find_element(By.NAME, "password").send_keys("browser-test-pw", Keys.ENTER)
    wait.until(ec.presence_of_element_located((By.ID, "kartra-dashboard")))
    session.settle()
    session.snap("01-index")

    # Search a lead by email.
    session.open("/admin/leads/lead/")
    search = browser.find_element(By.ID, "searchbar")
    search.send_keys("searched.lead@example.com", Keys.ENTER)
    wait.until(ec.url_contains("q=searched.lead"))
    session.settle()
    rows = browser.find_elements(By.CSS_SELECTOR, "#result_list tbody tr")
    assert len(rows) == 1 and "searched.lead@example.com" in rows[0].text
    session.snap("02-search")

    # Filter by tag through the autocomplete box (Django's select2 + the filter's script).
    tag = graph.tags[0]
    session.open("/admin/leads/lead/")
    box = browser.find_element(
        By.CSS_SELECTOR, "select[data-filter-parameter='tag'] + .select2-container"
    )
    box.click()
    field = wait.until(
        ec.visibility_of_element_located((By.CSS_SELECTOR, ".select2-search__field"))
    )
    field.send_keys(tag.name)

    def only_the_tag_offered(driver) -> bool:
        # select2 first lists every tag, then replaces the list with the search's answer.
        options = driver.find_elements(By.CSS_SELECTOR, ".select2-results__option")
        try:
            return [option.text for option in options] == [tag.name]
        except StaleElementReferenceException:
            return False

    wait.until(only_the_tag_offered)
    session.snap("03-autocomplete")
    field.send_keys(Keys.ENTER)
    wait.until(ec.url_contains(f"tag={tag.pk}"))
    session.settle()
    rows = browser.find_elements(By.CSS_SELECTOR, "#result_list tbody tr")
    assert len(rows) == 1 and "searched.lead@example.com" in rows[0].text

    # Open the lead: the card above the fold, then the folded sections.
    rows[0].find_element(By.CSS_SELECTOR, "th a").click()
    wait.until(ec.presence_of_element_located((By.ID, "profile")))
    session.settle()
    card = above_the_fold(browser, "profile-contact", "profile-holdings", "profile-revenue")
    assert "searched.lead@example.com" in card["profile-contact"]
    assert graph.lead.phone in card["profile-contact"] and "SCORE\n10" in card["profile-contact"]
    held = [tag.name for i, tag in enumerate(graph.tags) if i % 5 != 4]
    assert all(name in card["profile-holdings"] for name in held)
    assert "step 1" in card["profile-holdings"] and "Gold" in card["profile-holdings"]
    assert browser.find_element(By.ID, "profile-net").text == "140.00"
    assert graph.products[1].name in card["profile-revenue"]  # an active subscription
    assert "last webhook" in above_the_fold(browser, "profile-mirror")["profile-mirror"]
    assert browser.find_element(By.CSS_SELECTOR, ".kartra-object-tool").is_displayed()
    session.snap("04-lead")
    browser.find_element(By.CSS_SELECTOR, "#tags > summary").click()
    assert all(tag.name in browser.find_element(By.ID, "tags").text for tag in graph.tags)
    browser.find_element(By.CSS_SELECTOR, "#transactions > summary").click()
    transactions = browser.find_element(By.ID, "transactions").text
    assert "Sale" in transactions and "Refund" in transactions
    assert browser.find_element(By.ID, "total-net").text == "140.00"
    timeline = browser.find_element(By.ID, "timeline")
    timeline.find_element(By.LINK_TEXT, "Purchases").click()
    wait.until(ec.url_contains("timeline=purchases"))
    session.settle()
    kinds = browser.find_elements(By.CSS_SELECTOR, "#timeline tbody td:nth-child(2)")
    assert kinds and {cell.text for cell in kinds} == {"Purchases"}
    session.snap("05-lead-sections")

    # A lead known by email only: the card is there, and says what is not known.
    session.open(f"/admin/leads/lead/{empty.pk}/change/")
    card = above_the_fold(browser, "profile-contact", "profile-holdings", "profile-revenue")
    assert "empty.lead@example.com" in card["profile-contact"]
    assert "not known yet" in card["profile-contact"] and "No tags." in card["profile-holdings"]
    assert "Nothing on this lead's timeline yet." in browser.find_element(By.ID, "timeline").text
    session.snap("06-empty-lead")

    # The dashboard and its charts.
    session.open("/admin/")
    charts = browser.find_elements(By.CSS_SELECTOR, "#kartra-dashboard svg")
    # four of the account, the failed payments and cancellations, MRR over the last 12
    # months, the drift from Kartra
    assert len(charts) == 7
    assert "Drift from Kartra" in browser.find_element(By.ID, "kartra-drift").text
    assert browser.find_elements(By.CSS_SELECTOR, "#kartra-dashboard svg rect")
    assert all(chart.size["width"] > 200 for chart in charts)
    shot = session.snap("07-dashboard")
    assert shot.stat().st_size > 10_000

    assert not session.errors, "JavaScript console errors:\n" + "\n".join(session.errors)
