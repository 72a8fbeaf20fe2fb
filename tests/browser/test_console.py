"""The console in a real browser: the four-eyes path end to end, refusals, languages, CSRF."""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime, timedelta

import pytest
from playwright.sync_api import Browser, Page, expect
from tests.browser.conftest import Console, login, screenshot

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
REQUEST_URL = re.compile(r"/requests/(req_[0-9a-f]+)")


def submit_thaw(page: Page, console: Console, account: str, restriction: str) -> str:
    """As the logged-in requester: file a thaw with a fresh liveness check; the request id."""
    page.goto(console.url("/requests/new"))
    page.select_option("select[name=kind]", "thaw")
    page.fill("input[name=account_id]", account)
    page.fill("input[name=targets]", restriction)
    page.fill("textarea[name=justification]", "customer passed a liveness check on a video call")
    page.select_option("select[name=evidence_type_0]", "KYC_LIVENESS_PASS")
    page.fill("input[name=evidence_reference_0]", f"liveness-{account}")
    observed = (datetime.now(UTC) - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M")
    page.fill("input[name=evidence_observed_at_0]", observed)
    page.click("form[data-testid=new-request] button[type=submit]")
    expect(page.get_by_test_id("done")).to_contain_text("submitted")
    found = REQUEST_URL.search(page.url)
    assert found, page.url
    return found.group(1)


def new_page(browser: Browser, locale: str = "en-US") -> Page:
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, locale=locale)
    p = context.new_page()
    p.set_default_timeout(10_000)
    return p


def test_submit_review_approve_and_the_account_is_lifted(
    page: Page, browser: Browser, console: Console
) -> None:
    login(page, console, "alice")
    rid = submit_thaw(page, console, "acct-1", "r-ato-1")

    reviewer = new_page(browser)
    login(reviewer, console, "fay")
    expect(reviewer).to_have_url(console.url("/queue"))
    reviewer.select_option("select[name=reason]", "ATO_SUSPECTED")  # htmx swaps the table
    row = reviewer.locator(f"tr[data-request={rid}]")
    expect(row).to_be_visible()
    screenshot(reviewer, "queue-en")
    row.get_by_role("link", name=rid).click()

    expect(reviewer.locator("[data-factor=new_device_24h]")).to_be_visible()
    expect(reviewer.locator("[data-factor=new_country_24h]")).to_be_visible()
    expect(reviewer.locator("[data-rule=ato-thaw]")).to_contain_text("liveness")
    expect(reviewer.locator("tr.target[data-restriction=r-ato-1]")).to_be_visible()
    screenshot(reviewer, "detail-en")
    approve = reviewer.get_by_test_id("actions").locator("form[action$='/approve']")
    approve.locator("textarea[name=comment]").fill("liveness fresh, device change explained")
    reviewer.get_by_test_id("approve").click()
    expect(reviewer.get_by_test_id("done")).to_contain_text("approval is recorded")

    # The worker executes the plan; the account page shows the restriction lifted.
    deadline = time.monotonic() + 20
    lifted = reviewer.locator("tr[data-restriction=r-ato-1][data-status=lifted]")
    while time.monotonic() < deadline:
        reviewer.goto(console.url("/accounts/acct-1"))
        if lifted.count() == 1:
            break
        time.sleep(0.3)
    expect(lifted).to_be_visible()
    reviewer.goto(console.url(f"/requests/{rid}"))
    expect(reviewer.locator("h1")).to_contain_text("executed")


def test_the_requester_sees_no_approve_button_and_a_forced_post_is_refused(
    page: Page, console: Console
) -> None:
    login(page, console, "alice")
    rid = submit_thaw(page, console, "acct-2", "r-ato-2")
    expect(page.get_by_test_id("approve")).to_have_count(0)
    expect(page.get_by_test_id("why-no-approve")).to_contain_text("separation of duties")

    # Force the POST the page does not offer, with the session's own CSRF token.
    page.evaluate(
        """async (rid) => {
            const csrf = document.querySelector("input[name=csrf_token]").value;
            const body = new URLSearchParams({csrf_token: csrf, comment: "looks fine to me"});
            const r = await fetch(`/requests/${rid}/approve`, {method: "POST", body});
            document.open(); document.write(await r.text()); document.close();
            window.__status = r.status;
        }""",
        rid,
    )
    assert page.evaluate("window.__status") == 403
    refusal = page.get_by_test_id("refusal")
    expect(refusal).to_contain_text("Refused: separation of duties")
    expect(refusal).to_contain_text("the requester never approves their own request")


def test_a_post_without_the_csrf_token_is_refused(page: Page, console: Console) -> None:
    login(page, console, "fay")
    status = page.evaluate(
        """async () => {
            const body = new URLSearchParams({comment: "no token"});
            const r = await fetch("/requests/req_000000000000000000000000/reject",
                                  {method: "POST", body});
            return [r.status, await r.text()];
        }"""
    )
    assert status[0] == 403
    assert 'data-kind="csrf"' in status[1]


def test_switching_to_chinese_renders_the_queue_in_chinese(page: Page, console: Console) -> None:
    login(page, console, "finn")
    expect(page.locator("h1")).to_have_text("Review queue")
    page.get_by_test_id("lang-switch").get_by_role("link", name="简体中文").click()
    expect(page.locator("h1")).to_have_text("审核队列")
    expect(page.locator("th").first).to_have_text("请求")
    screenshot(page, "queue-zh")
    page.goto(console.url("/dashboard"))  # the choice persists across pages
    expect(page.locator("h1")).to_contain_text("仪表盘")
    page.wait_for_selector("body[data-charts=drawn]")
    screenshot(page, "dashboard-zh")
    page.goto(console.url("/lang/en?next=/dashboard"))
    page.wait_for_selector("body[data-charts=drawn]")
    screenshot(page, "dashboard-en")


def test_the_detail_page_in_chinese(page: Page, console: Console) -> None:
    login(page, console, "vic")
    rid = submit_thaw(page, console, "acct-3", "r-ato-3")
    reviewer = page.context.browser.new_context(  # type: ignore[union-attr]
        viewport={"width": 1400, "height": 1000}, locale="zh-CN"
    ).new_page()
    login(reviewer, console, "finn")  # Accept-Language zh-CN: Chinese without the switch
    reviewer.goto(console.url(f"/requests/{rid}"))
    expect(reviewer.get_by_test_id("risk")).to_contain_text("风险评分")
    expect(reviewer.locator("[data-factor=new_device_24h]")).to_contain_text(
        "近 24 小时内有来自从未出现过的设备的登录。"
    )
    expect(reviewer.locator("[data-rule=ato-thaw]")).to_contain_text("盗号冻结需要新近的活体检测")
    screenshot(reviewer, "detail-zh")


def test_wrong_passwords_are_throttled(page: Page, console: Console) -> None:
    for _ in range(5):
        login(page, console, "audrey", password="not the password")
        expect(page.locator(".banner.error")).to_contain_text("wrong password")
    login(page, console, "audrey")  # even the right password waits now
    expect(page.locator(".banner.error")).to_contain_text("Too many failed logins")


def test_logout_ends_the_session(page: Page, console: Console) -> None:
    login(page, console, "finn")
    expect(page).to_have_url(console.url("/queue"))
    cookie = next(c for c in page.context.cookies() if c["name"] == "tg_session")
    assert cookie["httpOnly"] is True
    assert cookie["sameSite"] == "Strict"
    page.get_by_role("button", name="Log out").click()
    expect(page).to_have_url(re.compile(r"/login\?why=out"))
    # The old cookie is dead on the server too: its token was deleted.
    page.context.add_cookies([{**cookie}])
    page.goto(console.url("/queue"))
    expect(page).to_have_url(re.compile(r"/login"))
