"""Sign-in pages in a real browser: enrol the authenticator, pass the second factor, elderly mode,
account security and password pages, sign out — on a phone viewport, checked with axe-core; the
QR code renders as an image under the Content-Security-Policy."""

from __future__ import annotations

import re
import time
from typing import Any

import pyotp
import pytest

from shequ.browser import axe_violations, screenshot, toggle_elderly
from shequ.conftest import PASSWORD, World

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def password_step(page: Any, username: str) -> None:
    page.goto("/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("main form[action='/login/'] button[type=submit]")
    page.wait_for_load_state()


def check_page(page: Any, name: str) -> None:
    assert page.locator("h1").count() == 1, name
    assert page.evaluate("() => document.documentElement.scrollWidth") <= 390, name
    assert axe_violations(page) == [], name
    screenshot(page, name)


def test_street_officer_enrols_passes_second_factor_and_signs_out(phone_page: Any, world: World) -> None:
    csp_errors: list[str] = []

    def on_console(message: Any) -> None:
        if "Content Security Policy" in message.text:
            csp_errors.append(message.text)

    phone_page.on("console", on_console)

    password_step(phone_page, "street")
    assert phone_page.url.endswith("/account/totp/")
    assert phone_page.evaluate("() => document.querySelector('img.qr').naturalWidth") > 0
    check_page(phone_page, "auth-totp-enrol")
    secret = re.sub(r"\s", "", phone_page.locator("main code").inner_text())
    totp = pyotp.TOTP(secret)
    phone_page.fill("#id_code", totp.now())
    phone_page.click("main form[action='/account/totp/'] button[type=submit]")
    phone_page.wait_for_url("**/")
    assert "岳麓街道" in phone_page.content()

    toggle_elderly(phone_page)
    assert phone_page.locator("html.elderly").count() == 1

    phone_page.goto("/account/security/")
    check_page(phone_page, "auth-security")
    phone_page.goto("/account/password/")
    check_page(phone_page, "auth-password")

    # On a phone, signing out is on 我的 (the desktop has it in the top bar too).
    phone_page.goto("/me/")
    phone_page.click("main form[data-signout] button")
    phone_page.wait_for_url("**/login/")
    check_page(phone_page, "auth-signed-out")

    # Next time: the code page. The code of the next time step (the current one was used).
    password_step(phone_page, "street")
    assert phone_page.url.endswith("/login/second-factor/")
    check_page(phone_page, "auth-second-factor")
    phone_page.fill("#id_code", totp.at(time.time() + totp.interval))
    phone_page.click("main form[action='/login/second-factor/'] button[type=submit]")
    phone_page.wait_for_url("**/")
    assert phone_page.locator("html.elderly").count() == 1  # the mode is kept on the account
    # The QR code is a data: image, which img-src allows (no inline SVG or script needed).
    assert not [e for e in csp_errors if "img-src" in e or "script-src" in e]
