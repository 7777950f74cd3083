"""The platform's own error answers (core/views_errors.py): a body over the upload limit is a 413 in
every area's own format (JSON API, pages, Open311), a JSON body of another type is a 415, and the
404/403/500 and CSRF failure pages are ours — in Chinese, with the site's shell and its CSP, never
Django's debug or bare pages."""

from __future__ import annotations

import json
import logging
import os
import re
import socket
import sqlite3
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from typing import Any

import pytest
from django.conf import settings as django_settings
from django.db import OperationalError, connection
from django.template.loader import render_to_string
from django.test import Client, override_settings

from shequ.conftest import World
from shequ.core.tests.api_helpers import _fresh_rate_limits, bearer, issue
from shequ.grid.models import Ticket

__all__ = ["_fresh_rate_limits"]
pytestmark = pytest.mark.django_db

BIG = "楼" * (1024 * 1024)  # 3 MB of UTF-8, over DATA_UPLOAD_MAX_MEMORY_SIZE (2.5 MB)
GRID_A = "430104002001001"


def api_post(path: str, token: str, body: Any, content_type: str = "application/json") -> Any:
    return Client().post(path, body, content_type=content_type, **bearer(token))


def assert_api_error(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.content[:300]
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"code", "message", "details"} and body["code"] == code and body["message"]
    return body


def is_our_page(response: Any, status: int) -> str:
    assert response.status_code == status
    page = response.content.decode()
    assert 'class="skip-link"' in page and 'class="topbar"' in page  # the site's shell (base.html)
    assert "Content-Security-Policy" in response
    assert "Traceback" not in page and "URLconf" not in page and "Django" not in page
    return page


# --- 413 ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    ["/api/v1/grid/tickets", "/api/v1/registry/visits", "/api/v1/grid/tickets/1/comment", "/api/v1/nowhere"],
)
def test_api_body_over_the_limit_is_413_with_the_error_body(world: World, path: str) -> None:
    token = issue(world, "grid_a")
    body = json.dumps({"title": "楼道堆物", "description": BIG, "region_code": GRID_A}, ensure_ascii=False)
    response = api_post(path, token, body)
    # Refused on its declared length before routing: a path that reads no body is no exception.
    assert_api_error(response, 413, "payload_too_large")
    assert not Ticket.objects.exists()


def test_page_body_over_the_limit_is_our_413_page(world: World) -> None:
    for client in (Client(), Client(enforce_csrf_checks=True)):  # read by the view, or by the CSRF check
        client.force_login(world["resident"])
        client.get("/grid/report/")  # the CSRF cookie: the check then reads the body for the token
        response = client.post("/grid/report/", {"description": BIG, "region": GRID_A})
        page = is_our_page(response, 413)
        assert "太大" in page
    assert not Ticket.objects.exists()


def test_open311_body_over_the_limit_is_413_in_the_spec_error_format(world: World) -> None:
    data = {"service_code": "environment.noise", "description": BIG}
    response = Client().post("/open311/v2/requests.json", data)
    assert response.status_code == 413 and response["Content-Type"].startswith("application/json")
    assert [e["code"] for e in json.loads(response.content)] == [413]
    xml = Client().post("/open311/v2/requests.xml", data)
    root = ET.fromstring(xml.content)
    assert xml.status_code == 413 and root.tag == "errors" and root[0].findtext("code") == "413"


# --- 415 ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "content_type",
    [
        "text/plain",
        "application/xml",
        "multipart/form-data; boundary=bogus",
        "application/x-www-form-urlencoded",
    ],
)
def test_json_operations_refuse_other_content_types_with_415(world: World, content_type: str) -> None:
    token = issue(world, "grid_a")
    body = json.dumps({"title": "楼道堆物", "description": "楼道里堆满杂物", "region_code": GRID_A})
    response = api_post("/api/v1/grid/tickets", token, body, content_type)
    details = assert_api_error(response, 415, "unsupported_media_type")["details"]
    assert details["content_type"] == content_type.split(";")[0]
    assert not Ticket.objects.exists()
    ok = api_post("/api/v1/grid/tickets", token, body, "application/json; charset=utf-8")
    assert ok.status_code == 201


# --- 404, 403, CSRF, 500 -----------------------------------------------------------------------------


def test_404_is_our_page_in_chinese_with_navigation(world: World) -> None:
    client = Client()
    client.force_login(world["head_a"])
    page = is_our_page(client.get("/no-such-page/"), 404)
    assert "找不到" in page and 'class="tabbar"' in page
    assert "grid/" not in page.split("<main")[1].split("</main>")[0]  # no list of URL patterns
    assert "找不到" in is_our_page(Client().get("/registry/nothing-here/"), 404)  # signed out too


def test_admin_403_is_our_page(world: World) -> None:
    client = Client()
    client.force_login(world["head_a"])
    page = is_our_page(client.get("/admin/accounts/"), 403)
    assert "不允许" in page or "无权" in page


def test_csrf_failure_is_our_page(world: World) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(world["head_a"])
    page = is_our_page(client.post("/elderly/"), 403)
    assert "表单" in page


@override_settings(ROOT_URLCONF="shequ.core.tests.boom_urls")
def test_500_is_our_page_without_internals(world: World) -> None:
    client = Client(raise_request_exception=False)
    client.force_login(world["head_a"])
    page = is_our_page(client.get("/boom/"), 500)
    assert "secret internals" not in page and "13800001234" not in page and "RuntimeError" not in page


# --- DEBUG, static files, file modes -----------------------------------------------------------------


def _settings_in_subprocess(tmp_path: Any, code: str, **env: str) -> str:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("SHEQU_")}
    clean |= {"SHEQU_VAR_DIR": str(tmp_path), "DJANGO_SETTINGS_MODULE": "shequ.settings", **env}
    script = "import django; django.setup()\nfrom django.conf import settings\n" + code
    done = subprocess.run(
        [sys.executable, "-c", script], env=clean, capture_output=True, text=True, timeout=120, check=True
    )
    return done.stdout.strip()


def test_debug_is_off_unless_asked_for_and_static_files_are_still_served(tmp_path: Any) -> None:
    show = "print(settings.DEBUG, settings.WHITENOISE_USE_FINDERS)"
    assert _settings_in_subprocess(tmp_path, show, SHEQU_DEMO="1") == "False True"  # make demo
    assert _settings_in_subprocess(tmp_path, show) == "False True"
    assert _settings_in_subprocess(tmp_path, show, SHEQU_DEBUG="1") == "True True"


def test_static_files_are_served_with_debug_off(world: World) -> None:
    assert not django_settings.DEBUG
    response = Client().get("/static/core/shequ.css")
    assert response.status_code == 200


def test_favicon_is_served_cacheable_and_linked_from_every_shell(world: World) -> None:
    """Browsers ask every page for /favicon.ico; it was a 404 on each. A signed-in user's
    no-store (NoStoreMiddleware) must not reach it: WhiteNoise answers before sessions."""
    for client in (Client(), _signed_in(world)):
        response = client.get("/favicon.ico")
        assert response.status_code == 200
        assert response["Content-Type"] in ("image/x-icon", "image/vnd.microsoft.icon")
        body = b"".join(response.streaming_content)  # type: ignore[attr-defined]
        assert body[:4] == b"\x00\x00\x01\x00"  # an ICO file
        assert response["Cache-Control"] == "max-age=86400, public"
    signed_in = _signed_in(world)
    for page in (signed_in.get("/").content.decode(), Client().get("/login/").content.decode()):
        icon = re.search(r'<link rel="icon" href="([^"]+)"', page)
        assert icon is not None, "the shell links no icon"
        assert Client().get(icon.group(1)).status_code == 200
    assert '<link rel="icon"' in render_to_string("core/error_plain.html", {"title": "x"})


def _signed_in(world: World) -> Client:
    client = Client()
    client.force_login(world["resident"])
    return client


def test_var_files_are_private(tmp_path: Any) -> None:
    (tmp_path / "media").mkdir(mode=0o755)  # made by an older version: tightened
    code = (
        "from django.db import connection\n"
        "with connection.cursor() as c:\n"
        "    c.execute('CREATE TABLE t (x)'); c.execute('INSERT INTO t VALUES (1)')\n"
        "from shequ.core import keys\n"
        "keys.check_keys()  # a fresh database: the new keys are written\n"
        "import os\n"
        "for name in ('', 'media', 'keys', 'keys/secret_key', 'keys/field_key_k1', 'keys/index_key',\n"
        "             'keys/audit_key', 'shequ.sqlite3', 'shequ.sqlite3-wal', 'shequ.sqlite3-shm'):\n"
        "    print(name or 'var', oct(os.stat(os.path.join(settings.VAR_DIR, name)).st_mode & 0o777))\n"
    )
    modes = dict(line.split() for line in _settings_in_subprocess(tmp_path, code).splitlines())
    assert modes == {
        "var": "0o700",
        "media": "0o700",
        "keys": "0o700",
        "keys/secret_key": "0o600",
        "keys/field_key_k1": "0o600",
        "keys/index_key": "0o600",
        "keys/audit_key": "0o600",
        "shequ.sqlite3": "0o600",
        "shequ.sqlite3-wal": "0o600",
        "shequ.sqlite3-shm": "0o600",
    }
    assert django_settings.FILE_UPLOAD_PERMISSIONS == 0o600
    assert django_settings.FILE_UPLOAD_DIRECTORY_PERMISSIONS == 0o700


def test_test_database_is_private() -> None:
    from django.db import connection

    if connection.vendor != "sqlite":
        pytest.skip("SQLite only")
    connection.ensure_connection()
    name = connection.settings_dict["NAME"]
    assert os.stat(name).st_mode & 0o777 == 0o600


def test_openapi_documents_413_and_415_where_a_body_is_read() -> None:
    from shequ.api import api

    paths = api.get_openapi_schema()["paths"]
    assert {413, 415} <= set(paths["/api/v1/grid/tickets"]["post"]["responses"])
    photos = set(paths["/api/v1/grid/tickets/{ticket_id}/add_photos"]["post"]["responses"])
    assert 413 in photos and 415 not in photos  # multipart stays multipart
    assert not {413, 415} & set(paths["/api/v1/grid/tickets"]["get"]["responses"])


# --- 500 error id, 503 when the database is unreachable --------------------------------------------


@override_settings(ROOT_URLCONF="shequ.core.tests.boom_urls")
def test_500_page_shows_an_error_id_that_is_in_the_log_line(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    client = Client(raise_request_exception=False)
    with caplog.at_level(logging.ERROR, logger="django.request"):
        page = is_our_page(client.get("/boom/"), 500)
    error_id = re.search(r'class="error-id">([0-9a-f]{12})<', page)
    assert error_id and "错误编号" in page
    logged = [r for r in caplog.records if r.name == "django.request"]
    assert len(logged) == 1 and error_id[1] in logged[0].getMessage() and logged[0].exc_info


class _Unreachable:
    """Every query fails as it does when the database server has gone away (Django's own
    instrumentation hook: the error is raised where the driver would raise it)."""

    def __call__(self, execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        raise OperationalError("server closed the connection unexpectedly")


def _with_database_down(request: Any) -> Any:
    with connection.execute_wrapper(_Unreachable()):
        return request()


def test_database_down_is_a_503_page_with_retry_after(world: World, caplog: pytest.LogCaptureFixture) -> None:
    client = Client(raise_request_exception=False)
    client.force_login(world["head_a"])
    with caplog.at_level(logging.WARNING, logger="django.request"):
        response = _with_database_down(lambda: client.get("/grid/"))
    assert response.status_code == 503 and response["Retry-After"] == "30"
    page = response.content.decode()
    assert 'class="topbar"' in page and "暂时" in page and "数据库" in page
    assert 'class="mainnav"' not in page  # rendered without reading the database
    assert "Traceback" not in page and "OperationalError" not in page
    logged = [r for r in caplog.records if r.name == "django.request"]
    # One warning line with the error id and the cause, no traceback per request during an outage.
    assert [r.levelname for r in logged] == ["WARNING"] and not logged[0].exc_info
    assert "database unavailable" in logged[0].getMessage()
    assert re.search(r'class="error-id">([0-9a-f]{12})<', page)[1] in logged[0].getMessage()  # type: ignore[index]
    # Signed out, too: the public page of resolved matters.
    public = _with_database_down(lambda: Client(raise_request_exception=False).get("/grid/public/"))
    assert public.status_code == 503


def test_database_down_answers_the_api_and_open311_in_their_formats(world: World) -> None:
    token = issue(world, "grid_a")
    client = Client(raise_request_exception=False)
    api = _with_database_down(lambda: client.get("/api/v1/grid/tickets", **bearer(token)))
    body = assert_api_error(api, 503, "service_unavailable")
    assert api["Retry-After"] == "30" and len(body["details"]["error_id"]) == 12
    for fmt in ("json", "xml"):
        response = _with_database_down(lambda fmt=fmt: client.get(f"/open311/v2/services.{fmt}"))
        assert response.status_code == 503 and response["Retry-After"] == "30"
        if fmt == "json":
            assert [e["code"] for e in json.loads(response.content)] == [503]
        else:
            assert ET.fromstring(response.content)[0].findtext("code") == "503"


def test_an_unexpected_error_in_open311_is_a_500_in_the_spec_format_with_an_error_id(
    world: World, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    from shequ.grid import open311

    def broken() -> list[dict[str, Any]]:
        raise RuntimeError("a bug")

    monkeypatch.setattr(open311, "service_list", broken)
    client = Client(raise_request_exception=False)
    with caplog.at_level(logging.ERROR, logger="django.request"):
        as_json = client.get("/open311/v2/services.json")
        as_xml = client.get("/open311/v2/services.xml")
    assert as_json.status_code == 500 and as_xml.status_code == 500
    [error] = json.loads(as_json.content)
    assert error["code"] == 500 and "RuntimeError" not in as_json.content.decode()
    error_id = re.search(r"\(([0-9a-f]{12})\)", error["description"])
    assert error_id and any(error_id[1] in r.getMessage() for r in caplog.records)
    assert ET.fromstring(as_xml.content)[0].findtext("code") == "500"


def test_a_sql_mistake_on_sqlite_stays_a_500() -> None:
    from shequ.core.outage import database_unavailable

    def wrapped(message: str) -> OperationalError:
        try:
            try:
                raise sqlite3.OperationalError(message)
            except sqlite3.OperationalError as exc:
                raise OperationalError(message) from exc
        except OperationalError as exc:
            return exc

    assert database_unavailable(wrapped("database is locked"))
    assert database_unavailable(wrapped("unable to open database file"))
    assert not database_unavailable(wrapped("no such column: x"))
    assert not database_unavailable(RuntimeError("boom"))
    assert database_unavailable(OperationalError("connection refused"))  # PostgreSQL: no driver cause


# --- a declared length over the limit is refused before the body is read ---------------------------


class _Unreadable:
    """A request body that fails the test if anything reads it."""

    def read(self, *args: Any) -> bytes:
        raise AssertionError("the body was read")

    readline = read


def unread() -> dict[str, Any]:
    return {"wsgi.input": _Unreadable()}


FIFTY_MB = str(50 * 1024 * 1024)


def test_a_declared_50_mb_body_is_refused_before_it_is_read(world: World) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(world["resident"])
    multipart = "multipart/form-data; boundary=x"
    page = client.post("/grid/report/", content_type=multipart, CONTENT_LENGTH=FIFTY_MB, **unread())
    assert "太大" in is_our_page(page, 413)
    token = issue(world, "grid_a")
    api = Client().post(
        "/api/v1/grid/tickets/1/add_photos",
        content_type=multipart,
        CONTENT_LENGTH=FIFTY_MB,
        **unread(),
        **bearer(token),
    )
    assert_api_error(api, 413, "payload_too_large")
    open311 = Client().post(
        "/open311/v2/requests.json",
        content_type="application/x-www-form-urlencoded",
        CONTENT_LENGTH=FIFTY_MB,
        **unread(),
    )
    assert open311.status_code == 413 and json.loads(open311.content)[0]["code"] == 413
    # Not an upload: the in-memory limit (2.5 MB) applies to the declared length as well.
    small = Client().post(
        "/api/v1/grid/tickets",
        content_type="application/json",
        CONTENT_LENGTH=str(3 * 1024 * 1024),
        **unread(),
        **bearer(token),
    )
    assert_api_error(small, 413, "payload_too_large")
    bogus = Client().post("/grid/report/", content_type=multipart, CONTENT_LENGTH="lots")
    assert bogus.status_code == 400


@pytest.mark.django_db(transaction=True)
def test_the_web_server_refuses_a_50_mb_upload_without_reading_it(tmp_path: Any) -> None:
    from shequ.core.tests.fakes import free_port, worker_env

    port = free_port()
    log = (tmp_path / "serve.log").open("wb")
    server = subprocess.Popen(
        [sys.executable, "-m", "shequ.cli", "serve", "--port", str(port), "--threads", "2"],
        env=worker_env(),
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        head = (
            f"POST /grid/report/ HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            f"Content-Type: multipart/form-data; boundary=x\r\nContent-Length: {FIFTY_MB}\r\n\r\n"
        ).encode()
        answer = b""
        for _attempt in range(1800):  # until it listens (it loads the apps; on a fresh clone it collects)
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=60) as sock:
                    sock.sendall(head)  # the headers only: not one byte of the body is sent
                    answer = sock.recv(65536)
                break
            except ConnectionRefusedError:
                assert server.poll() is None, (tmp_path / "serve.log").read_text()
                time.sleep(0.1)
        assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
    finally:
        server.terminate()
        server.wait(timeout=30)
        log.close()


@pytest.mark.parametrize("mode", ["production", "demo"])
def test_database_down_is_our_503_in_production_and_the_demo(tmp_path: Any, mode: str) -> None:
    """The modes a county or the demo runs in (DEBUG off): a real unreachable PostgreSQL (a port where
    nothing listens) gives our Chinese 503 page, never Django's "Server Error (500)"."""
    from shequ.core.tests.fakes import free_port
    from shequ.core.tests.test_deploy_check import production_env

    env = production_env(tmp_path)
    if mode == "demo":
        env = {k: v for k, v in env.items() if k != "SHEQU_ENV"} | {"SHEQU_DEMO": "1"}
    env["SHEQU_DATABASE_URL"] = f"postgres://postgres@127.0.0.1:{free_port()}/shequ"
    script = (
        "import django; django.setup()\n"
        "from django.test import Client\n"
        "r = Client(raise_request_exception=False).get('/grid/public/', secure=True,"
        " HTTP_HOST='shequ.example.cn')\n"
        "print(r.status_code, r.get('Retry-After'))\n"
        "print(r.content.decode())\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=120, check=True
    )
    status, page = done.stdout.split("\n", 1)
    assert status == "503 30"
    assert "服务暂时不可用" in page and 'class="error-id"' in page and "Server Error" not in page
    assert "Traceback" not in done.stderr and "database unavailable" in done.stderr


def test_the_web_server_in_front_gets_our_error_pages_in_chinese(tmp_path: Any) -> None:
    """nginx answers a 413 over its own limit, and a 502/504 while the platform restarts, from
    files ``shequ serve`` writes: in Chinese with the site's look, never nginx's English pages."""
    from shequ.core import views_errors

    written = views_errors.write_front_error_pages(tmp_path / "errors")
    assert sorted(p.name for p in written) == ["413.html", "502.html", "503.html", "504.html"]
    pages = {p.stem: p.read_text(encoding="utf-8") for p in written}
    for status, page in pages.items():
        assert '<html lang="zh-Hans">' in page and f"错误代码 {status}" in page, page[:400]
        assert "shequ.css" in page and "error-id" not in page
    assert "太大" in pages["413"]
    assert "重启" in pages["502"] and pages["502"] == pages["504"].replace("504", "502")
    assert not list((tmp_path / "errors").glob("*.tmp"))
