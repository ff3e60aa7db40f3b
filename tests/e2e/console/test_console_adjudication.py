"""The operator console in a real browser (Debian chromium driven by Playwright): an operator signs in,
sees a live alert arrive over Server-Sent Events with its crop, reviews and engages it; an engagement
officer records the outcome; oversight sees the decisions in the audit view without images.
Screenshots go to test-artifacts/screenshots/."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.e2e.console._seed import publish
from tests.fixtures.services import Platform

CHROMIUM = Path("/usr/bin/chromium")
SCREENSHOTS = Path(__file__).resolve().parents[3] / "test-artifacts" / "screenshots"
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not CHROMIUM.exists() and os.environ.get("CI") != "true",
        reason="Debian chromium is not installed (apt-get install chromium chromium-driver)",
    ),
]


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            launched.close()


def shot(page: object, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)  # type: ignore[attr-defined]


def sign_in(page: object, user: str, role: str) -> None:
    page.fill("#user", user)  # type: ignore[attr-defined]
    page.select_option("#role", role)  # type: ignore[attr-defined]
    page.click("#dev-sign-in button[type=submit]")  # type: ignore[attr-defined]
    page.wait_for_selector("#sign-out:not([hidden])")  # type: ignore[attr-defined]


def test_operator_and_engagement_officer_adjudicate_a_live_alert(
    platform: Platform, browser: object, face_images_dir: Path
) -> None:
    context = browser.new_context(viewport={"width": 1280, "height": 900})  # type: ignore[attr-defined]
    page = context.new_page()
    console_errors: list[str] = []
    page.on("pageerror", lambda error: console_errors.append(str(error)))
    page.goto(f"{platform.gateway_url}/")
    shot(page, "01-sign-in")
    sign_in(page, "op-ann", "operator")
    page.wait_for_selector("#stream-state.on")  # the SSE stream is open before the match arrives

    message, sealed = publish(
        bootstrap=platform.kafka_bootstrap, data_dir=platform.data_dir,
        deployments_target=platform.grpc_targets["deployments"], deployment_id="dep-console-e2e",
        crop=(face_images_dir / "obama.jpg").read_bytes(),
    )  # fmt: skip
    card = page.wait_for_selector("#alert-queue li.alert[data-status=pending]", timeout=30_000)
    alert_id = card.get_attribute("data-alert-id")
    assert "cam-concourse-1" in card.inner_text() and "0.830" in card.inner_text()
    if sealed:  # the live crop is decrypted and shown beside the watchlist image
        page.wait_for_function(
            "document.querySelector('#alert-queue img.crop')?.naturalWidth > 0", timeout=15_000
        )
    shot(page, "02-operator-alert-arrived")

    page.click(f"[data-alert-id='{alert_id}'] .actions button:has-text('Review')")
    page.wait_for_selector(f"#alert-queue [data-alert-id='{alert_id}'][data-status=in_review]")
    shot(page, "03-operator-reviewing")
    page.click(f"[data-alert-id='{alert_id}'] button:has-text('Engage')")
    page.wait_for_selector(f"#alert-recent [data-alert-id='{alert_id}'][data-status=engaged]")
    shot(page, "04-operator-engaged")

    page.click("#sign-out")
    sign_in(page, "eo-bob", "engagement_officer")
    officer_card = f"#alert-queue [data-alert-id='{alert_id}'][data-status=engaged]"
    page.wait_for_selector(officer_card)
    page.select_option(f"{officer_card} select[name=outcome]", "confirmed_match")
    page.select_option(f"{officer_card} select[name=action]", "words_of_advice")
    shot(page, "05-officer-outcome-form")
    page.click(f"{officer_card} button:has-text('Record outcome')")
    page.wait_for_selector(f"#alert-recent [data-alert-id='{alert_id}'][data-status=outcome_recorded]")
    shot(page, "06-officer-outcome-recorded")

    detail = httpx.get(
        f"{platform.gateway_url}/api/v1/alerts/{alert_id}", headers=platform.auth("oversight"), timeout=10
    ).json()
    steps = [(s["event_type"], s["actor"], s["role"]) for s in detail["history"]]
    assert steps == [
        ("AlertRaised", "lfr-alerts", "system"),
        ("AlertReviewStarted", "op-ann", "operator"),
        ("AlertEngaged", "op-ann", "operator"),
        ("EngagementOutcomeRecorded", "eo-bob", "engagement_officer"),
    ]
    assert detail["outcome"] == "confirmed_match"

    page.click("#sign-out")
    sign_in(page, "ov-cat", "oversight")
    page.wait_for_selector("#view-audit:not([hidden]) #audit table, #view-audit:not([hidden]) #audit p")
    page.click("#tab-alerts")
    page.wait_for_selector(f"[data-alert-id='{alert_id}']")
    assert page.locator("img.crop").count() == 0  # oversight never receives an image
    shot(page, "07-oversight-alerts-without-images")
    assert not console_errors, console_errors
    context.close()


def test_console_assets_are_served_without_external_resources(platform: Platform) -> None:
    html = httpx.get(f"{platform.gateway_url}/", timeout=10).text
    assert "https://" not in html and "http://" not in html  # no CDN
    for asset in ("app.js", "api.js", "alerts.js", "deployments.js", "audit.js", "style.css"):
        response = httpx.get(f"{platform.gateway_url}/static/{asset}", timeout=10)
        assert response.status_code == 200, asset
