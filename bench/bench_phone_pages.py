"""Phone pages on a throttled phone (issue 9): page weight, requests and first render of the resident
home, the report page, the grid worker home and the statistics page, cold and warm, against a
baseline server in the same run; with the shell's service worker against the same pages with it
bypassed (once /sw.js exists); taps from the resident's home to a submitted report; notices the
demo resident receives per ticket.

Two servers on one fresh demo database (``shequ demo --no-serve`` into ``--var``, made once and
reused; ``--fresh`` makes it again):

* ``now``: ``shequ serve`` as the demo runs it: static files collected, fingerprinted, gzip and brotli
  copies, cached a year as immutable; HTML gzipped for same-origin requests;
* ``baseline``: the same code with main's static set-up before issue 9
  (``bench/phone_baseline_settings.py``): plain names from the sources, uncompressed, HTML
  uncompressed, revalidated on each visit (``max-age=0``).

The phone: Debian's Chromium through Playwright, 390×844 at device scale 3, touch, zh-CN; CPU slowed
×4 (``Emulation.setCPUThrottlingRate``); network ``Network.emulateNetworkConditions`` with 400 ms
round trip, 50 kB/s down and 25 kB/s up (the profile the issue's baseline was measured with, the
slow end of "Slow 4G"; ``--rtt``, ``--down``, ``--up`` change it). Each role signs in through the
login form by HTTP (no page load, so the browser cache stays empty), then:

* cold: a new browser context (empty cache) opens the page;
* warm: a second tab of the same context opens it again (a later visit: the HTTP cache is kept).

Per page: bytes transferred (``encodedDataLength`` of every response), requests (and how many went
to the network), DOMContentLoaded and load (navigation timing), largest contentful paint
(``PerformanceObserver``, buffered), and on the statistics page the moment the charts are drawn
(the first ``[data-chart] svg``). Medians of ``--runs`` runs; ratios now/baseline and warm/cold.

Run from the repository root (Chromium at /usr/bin/chromium or ``SHEQU_CHROMIUM``):

    .venv/bin/python bench/bench_phone_pages.py [--runs 3] [--var /tmp/shequ-bench-phone] [--fresh]
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
PHONE = {"width": 390, "height": 844}
LCP_JS = """() => new Promise((resolve) => {
  let last = 0;
  new PerformanceObserver((list) => { for (const e of list.getEntries()) last = e.startTime; })
    .observe({type: 'largest-contentful-paint', buffered: true});
  setTimeout(() => resolve(last), 300);
})"""
SW_READY_JS = "() => Promise.race([navigator.serviceWorker.ready, new Promise(r => setTimeout(r, 60000))])"
NAV_JS = """() => { const n = performance.getEntriesByType('navigation')[0];
  return {dcl: n.domContentLoadedEventEnd, load: n.loadEventEnd}; }"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def env_for(var: Path, **extra: str) -> dict[str, str]:
    env = {
        k: v for k, v in os.environ.items() if not k.startswith("SHEQU_") and k != "DJANGO_SETTINGS_MODULE"
    }
    env |= {"SHEQU_VAR_DIR": str(var), "SHEQU_DEMO": "1", "PYTHONUNBUFFERED": "1", **extra}
    return env


def demo_database(var: Path, fresh: bool) -> None:
    if fresh and var.exists():
        shutil.rmtree(var)
    if (var / "demo-logins.txt").exists():
        return
    print(f"making the demo database in {var} (shequ demo --no-serve) …", flush=True)
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "shequ.cli", "demo", "--no-serve"],
        env=env_for(var),
        cwd=ROOT,
        check=True,
        stdout=subprocess.DEVNULL,
    )
    print(f"  done in {time.perf_counter() - started:.0f} s", flush=True)


def logins(var: Path) -> dict[str, tuple[str, str]]:
    """role → (username, password): the first account of each role in var/demo-logins.txt."""
    found: dict[str, tuple[str, str]] = {}
    for line in (var / "demo-logins.txt").read_text().splitlines():
        parts = line.split()
        if len(parts) < 2:
            continue
        role = line.split("·")[1].strip() if "·" in line else ""
        found.setdefault(role, (parts[0], parts[1]))
    return found


@contextmanager
def server(var: Path, name: str, **extra: str) -> Iterator[str]:
    port = free_port()
    log = open(var / f"bench-{name}.log", "wb")  # noqa: SIM115
    proc = subprocess.Popen(
        [sys.executable, "-m", "shequ.cli", "serve", "--port", str(port), "--threads", "8"],
        env=env_for(var, **extra),
        cwd=ROOT,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(1200):
            try:
                urllib.request.urlopen(url + "/healthz", timeout=2).read()
                break
            except OSError:
                if proc.poll() is not None:
                    raise RuntimeError((var / f"bench-{name}.log").read_text()) from None
                time.sleep(0.1)
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        log.close()


class Phone:
    def __init__(self, browser: Any, base: str, args: argparse.Namespace) -> None:
        self.browser, self.base, self.args = browser, base, args

    def context(self, username: str, password: str) -> Any:
        context = self.browser.new_context(
            viewport=PHONE,
            device_scale_factor=3,
            is_mobile=True,
            has_touch=True,
            locale="zh-CN",
            base_url=self.base,
        )
        login = context.request.get("/login/")
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', login.text())
        assert token, "no CSRF token on the login page"
        answer = context.request.post(
            "/login/",
            form={"csrfmiddlewaretoken": token.group(1), "username": username, "password": password},
            headers={"Referer": self.base + "/login/"},
        )
        assert answer.ok and "/login/" not in answer.url, f"{username} could not sign in ({answer.url})"
        return context

    def page(self, context: Any, bypass_sw: bool = False) -> tuple[Any, Any, dict[str, dict[str, Any]]]:
        page = context.new_page()
        page.set_default_timeout(180_000)
        cdp = context.new_cdp_session(page)
        cdp.send("Network.enable")
        cdp.send(
            "Network.emulateNetworkConditions",
            {
                "offline": False,
                "latency": self.args.rtt,
                "downloadThroughput": self.args.down * 1024,
                "uploadThroughput": self.args.up * 1024,
            },
        )
        cdp.send("Emulation.setCPUThrottlingRate", {"rate": self.args.cpu})
        if bypass_sw:
            cdp.send("Network.setBypassServiceWorker", {"bypass": True})
        requests: dict[str, dict[str, Any]] = {}

        def sent(e: dict[str, Any]) -> None:
            requests.setdefault(e["requestId"], {"url": e["request"]["url"], "bytes": 0, "network": True})

        def received(e: dict[str, Any]) -> None:
            r = requests.setdefault(
                e["requestId"], {"url": e["response"]["url"], "bytes": 0, "network": True}
            )
            resp = e["response"]
            if resp.get("fromDiskCache") or resp.get("fromServiceWorker") or resp.get("fromPrefetchCache"):
                r["network"] = False
            r["sw"] = bool(resp.get("fromServiceWorker"))
            r["encoding"] = {k.lower(): v for k, v in resp.get("headers", {}).items()}.get(
                "content-encoding", ""
            )

        def cached(e: dict[str, Any]) -> None:
            requests.setdefault(e["requestId"], {"url": "", "bytes": 0})["network"] = False

        def finished(e: dict[str, Any]) -> None:
            requests.setdefault(e["requestId"], {"url": "", "bytes": 0, "network": True})["bytes"] = e[
                "encodedDataLength"
            ]

        cdp.on("Network.requestWillBeSent", sent)
        cdp.on("Network.responseReceived", received)
        cdp.on("Network.requestServedFromCache", cached)
        cdp.on("Network.loadingFinished", finished)
        return page, cdp, requests

    def visit(
        self, context: Any, path: str, *, wait_for: str = "", bypass_sw: bool = False
    ) -> dict[str, float]:
        page, _cdp, requests = self.page(context, bypass_sw)
        page.goto(path, wait_until="load")
        drawn = 0.0
        if wait_for:
            page.wait_for_selector(wait_for, state="attached")
            drawn = float(page.evaluate("() => performance.now()"))
        nav = page.evaluate(NAV_JS)
        lcp = float(page.evaluate(LCP_JS))
        page.wait_for_timeout(200)  # late loadingFinished events
        page.close()
        own = [r for r in requests.values() if r.get("url", "").startswith(self.base)]
        return {
            "kB": sum(r["bytes"] for r in own) / 1024,
            "requests": len(own),
            "network": sum(1 for r in own if r.get("network", True)),
            "dcl": nav["dcl"],
            "load": nav["load"],
            "lcp": lcp,
            "charts": drawn,
        }


PAGES = [
    ("resident home", "resident", "/", ""),
    ("report page", "resident", "/grid/report/", ""),
    ("grid worker home", "grid_worker", "/", ""),
    # The grid worker's map: boundary, buildings and tickets drawn as vector layers (no tiles).
    ("grid worker map", "grid_worker", "/registry/map/", ".leaflet-overlay-pane path"),
    ("statistics", "community_head", "/grid/stats/", "[data-chart] svg"),
]
METRICS = [
    ("kB", "{:7.1f}"),
    ("requests", "{:4.0f}"),
    ("network", "{:4.0f}"),
    ("dcl", "{:7.0f}"),
    ("lcp", "{:7.0f}"),
]


def account(accounts: dict[str, tuple[str, str]], role: str) -> tuple[str, str]:
    for name, creds in accounts.items():
        if role in name:
            return creds
    raise SystemExit(f"no demo account with role {role}: {sorted(accounts)}")


def measure(phones: dict[str, Phone], accounts: dict[str, tuple[str, str]], runs: int) -> dict[str, Any]:
    """Both servers, interleaved (run by run and page by page, the order alternating), so that a
    busy moment of the machine does not fall on one of them only."""
    rows: dict[str, dict[str, dict[str, list[dict[str, float]]]]] = {name: {} for name in phones}
    for run in range(runs):
        for label, role, path, wait_for in PAGES:
            user, password = account(accounts, role)
            order = list(phones) if run % 2 == 0 else list(reversed(phones))
            for name in order:
                phone = phones[name]
                context = phone.context(user, password)
                cold = phone.visit(context, path, wait_for=wait_for)
                warm = phone.visit(context, path, wait_for=wait_for)
                context.close()
                by_visit = rows[name].setdefault(label, {"cold": [], "warm": []})
                by_visit["cold"].append(cold)
                by_visit["warm"].append(warm)
        print(f"  run {run + 1} of {runs} done", flush=True)
    return {
        name: {
            label: {
                visit: {k: statistics.median(r[k] for r in rs) for k in rs[0]} for visit, rs in visits.items()
            }
            for label, visits in pages.items()
        }
        for name, pages in rows.items()
    }


def service_worker(phone: Phone, accounts: dict[str, tuple[str, str]], runs: int) -> dict[str, Any] | None:
    """Warm visits with the shell's service worker against the same with it bypassed."""
    try:
        answer = urllib.request.urlopen(phone.base + "/sw.js", timeout=5)
    except OSError:
        return None
    if answer.status != 200:
        return None
    out: dict[str, Any] = {}
    for label, role, path, wait_for in PAGES:
        user, password = account(accounts, role)
        rows: dict[str, list[dict[str, float]]] = {"sw": [], "bypass": []}
        for _ in range(runs):
            for mode in ("sw", "bypass"):
                context = phone.context(user, password)
                bypass = mode == "bypass"
                page, _cdp, _requests = phone.page(context, bypass)
                page.goto(path, wait_until="load")
                if not bypass:  # the worker installs and caches the shell before the next visit
                    page.evaluate(SW_READY_JS)
                    page.wait_for_timeout(2000)
                page.close()
                rows[mode].append(phone.visit(context, path, wait_for=wait_for, bypass_sw=bypass))
                context.close()
        out[label] = {
            mode: {k: statistics.median(r[k] for r in rs) for k in rs[0]} for mode, rs in rows.items()
        }
    return out


def taps_to_report(browser: Any, base: str, accounts: dict[str, tuple[str, str]]) -> tuple[int, list[str]]:
    """The resident's walk from the home page to a sent report, counting every tap (click) the
    script needs; typing the description is not a tap."""
    phone = Phone(browser, base, argparse.Namespace(rtt=0, down=1_000_000, up=1_000_000, cpu=1))
    context = phone.context(*account(accounts, "resident"))
    page = context.new_page()
    # The server's first report loads the request classifier (seconds on a busy VM): the walk
    # counts taps, not time.
    page.set_default_timeout(180_000)
    page.goto("/")
    taps: list[str] = []
    link = page.locator("main a[href='/grid/report/']")
    if not link.count():
        link = page.locator("a[href='/grid/report/']")
    taps.append("the report entry (" + " ".join(link.first.inner_text().split()) + ")")
    link.first.click()
    page.wait_for_url("**/grid/report/")
    page.locator("#id_description").click()
    taps.append("the description box")
    page.keyboard.type("3栋楼道的灯坏了，晚上很黑")
    for _ in range(3):
        with page.expect_navigation():
            page.locator("form.report-form button[type=submit]").first.click()
        taps.append("send")
        if re.search(r"/grid/report/\d+/done/", page.url):
            break
    else:
        raise SystemExit(f"the report was not sent: {page.url}")
    context.close()
    return len(taps), taps


def notices_per_ticket(var: Path) -> dict[str, Any]:
    """Messages per ticket thread per resident recipient in the demo database."""
    os.environ.update(
        {"SHEQU_VAR_DIR": str(var), "SHEQU_DEMO": "1", "DJANGO_SETTINGS_MODULE": "shequ.settings"}
    )
    import django

    django.setup()
    from django.db.models import Count

    from shequ.core.models import Message, User

    resident_name = account(logins(var), "resident")[0]
    resident = User.objects.get(username=resident_name)
    mine = Message.objects.filter(recipient=resident)
    per_ticket = list(
        mine.filter(thread_key__startswith="grid.ticket:")
        .values("thread_key")
        .annotate(n=Count("id"))
        .values_list("n", flat=True)
    )
    repeated = (
        mine.exclude(thread_key="")
        .values("thread_key", "subject")
        .annotate(n=Count("id"))
        .filter(n__gt=1)
        .count()
    )
    residents = (
        Message.objects.filter(thread_key__startswith="grid.ticket:", recipient__memberships__role="resident")
        .values("recipient", "thread_key")
        .annotate(n=Count("id"))
        .values_list("n", flat=True)
    )
    all_counts = list(residents)
    return {
        "resident": resident_name,
        "messages": mine.count(),
        "unread": mine.filter(read_at__isnull=True).count(),
        "tickets": len(per_ticket),
        "per_ticket": per_ticket,
        "same_subject_twice": repeated,
        "all_residents": all_counts,
    }


def fmt_ratio(a: float, b: float) -> str:
    return f"{a / b:5.2f}" if b else "   - "


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--var", type=Path, default=Path("/tmp/shequ-bench-phone"))
    parser.add_argument("--fresh", action="store_true", help="make the demo database again")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--rtt", type=int, default=400, help="round trip, ms")
    parser.add_argument("--down", type=int, default=50, help="download, kB/s")
    parser.add_argument("--up", type=int, default=25, help="upload, kB/s")
    parser.add_argument("--cpu", type=int, default=4, help="CPU slow-down factor")
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))  # stop the servers on the way out
    var = args.var.resolve()
    demo_database(var, args.fresh)
    notices = notices_per_ticket(var)  # before Playwright: the ORM in a thread without its event loop
    accounts = logins(var)

    from playwright.sync_api import sync_playwright

    chromium = os.environ.get("SHEQU_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
    print(
        f"phone: 390×844, CPU ×{args.cpu}, {args.rtt} ms round trip, {args.down} kB/s down, "
        f"{args.up} kB/s up; median of {args.runs} runs; times in ms from navigation start"
    )
    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=chromium,
            args=["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic"],
        )
        baseline_env = {
            "DJANGO_SETTINGS_MODULE": "phone_baseline_settings",
            "PYTHONPATH": str(ROOT / "bench"),
        }
        with server(var, "baseline", **baseline_env) as base, server(var, "now") as now:
            phones = {"baseline": Phone(browser, base, args), "now": Phone(browser, now, args)}
            taps = taps_to_report(browser, now, accounts)
            results = measure(phones, accounts, args.runs)
            sw = service_worker(phones["now"], accounts, args.runs)
        browser.close()

    head = f"{'page':<17} {'visit':<5} {'server':<8}" + "".join(
        f" {k:>7}" for k in ("kB", "reqs", "net", "DCL", "LCP", "charts")
    )
    print("\n" + head)
    for label, *_ in PAGES:
        for visit in ("cold", "warm"):
            for name in ("baseline", "now"):
                m = results[name][label][visit]
                charts = f" {m['charts']:7.0f}" if m["charts"] else ""
                row = f"{label:<17} {visit:<5} {name:<8} {m['kB']:7.1f} {m['requests']:7.0f}"
                print(f"{row} {m['network']:7.0f} {m['dcl']:7.0f} {m['lcp']:7.0f}{charts}")
            b, n = results["baseline"][label][visit], results["now"][label][visit]
            charts = f" {fmt_ratio(n['charts'], b['charts']):>7}" if n["charts"] else ""
            print(
                f"{'':<17} {visit:<5} {'now/base':<8} {fmt_ratio(n['kB'], b['kB']):>7} {'':>7} {'':>7}"
                f" {fmt_ratio(n['dcl'], b['dcl']):>7} {fmt_ratio(n['lcp'], b['lcp']):>7}{charts}"
            )
        for name in ("baseline", "now"):
            c, w = results[name][label]["cold"], results[name][label]["warm"]
            print(
                f"{'':<17} {'w/c':<5} {name:<8} {fmt_ratio(w['kB'], c['kB']):>7} {'':>7} {'':>7}"
                f" {fmt_ratio(w['dcl'], c['dcl']):>7} {fmt_ratio(w['lcp'], c['lcp']):>7}"
            )
    if sw is None:
        print("\nservice worker: none at /sw.js on this branch; SW/no-SW not measured")
    else:
        print("\nwarm visits with the service worker against the same with it bypassed:")
        for label, modes in sw.items():
            s, b = modes["sw"], modes["bypass"]
            cells = [
                f"{m['kB']:6.1f} kB {m['network']:3.0f} net DCL {m['dcl']:6.0f} LCP {m['lcp']:6.0f}"
                for m in (s, b)
            ]
            ratio = f"DCL {fmt_ratio(s['dcl'], b['dcl'])} LCP {fmt_ratio(s['lcp'], b['lcp'])}"
            print(f"{label:<17} SW {cells[0]} | bypassed {cells[1]} | SW/bypassed {ratio}")
    print(f"\ntaps from the resident's home to a sent report: {taps[0]} ({'; '.join(taps[1])})")
    counts = notices["per_ticket"]
    everyone = notices["all_residents"]
    print(
        f"notices: demo resident {notices['resident']}: {notices['messages']} messages "
        f"({notices['unread']} unread) about {notices['tickets']} tickets; per ticket min/median/max "
        f"{min(counts, default=0)}/{statistics.median(counts) if counts else 0}/{max(counts, default=0)}; "
        f"the same subject twice in a ticket's thread: {notices['same_subject_twice']}\n"
        f"  every resident of the demo: {len(everyone)} (resident, ticket) threads, per thread median "
        f"{statistics.median(everyone) if everyone else 0}, max {max(everyone, default=0)}, "
        f"mean {statistics.fmean(everyone) if everyone else 0:.2f}"
    )


if __name__ == "__main__":
    main()
