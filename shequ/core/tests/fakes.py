"""Real local stand-ins for outside services, for tests of any app.

* :class:`SmtpServer` — an aiosmtpd SMTP server on a free localhost port that keeps what it receives
  and can be told to refuse the next N messages with a temporary error.
* :class:`SmsGateway` — a threaded HTTP server speaking the SMS gateway protocol of
  ``shequ.core.messaging`` (POST JSON ``{"to", "text", "ref"}`` with a bearer token; answers
  ``{"id": ...}``) that can be told to fail the next N requests.
* :func:`worker_env` / :func:`start_worker` — run ``shequ worker`` as a subprocess against the test
  database (needs ``transaction=True`` tests so that it sees committed rows).
* :class:`TcpProxy` — a TCP relay (e.g. in front of PostgreSQL) that a test can cut (close every
  connection and refuse new ones) and restore, to stage a database outage.

Both mail fakes can hold their answer to the next message after receiving it (``hold_next``), so
that a test can kill the sender between "the other side has it" and "the sender recorded it".

Use them as context managers, e.g. in a fixture::

    with SmtpServer() as smtp:
        settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
        settings.EMAIL_HOST, settings.EMAIL_PORT = smtp.host, smtp.port
"""

from __future__ import annotations

import asyncio
import contextlib
import email
import email.message
import email.policy
import json
import os
import socket
import subprocess
import sys
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import quote

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

LOCALHOST = "127.0.0.1"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((LOCALHOST, 0))
        return int(sock.getsockname()[1])


# SMTP --------------------------------------------------------------------------------------------


@dataclass
class ReceivedMail:
    mail_from: str
    rcpt_tos: list[str]
    message: email.message.EmailMessage

    @property
    def subject(self) -> str:
        return str(self.message["Subject"])

    @property
    def text(self) -> str:
        part = self.message.get_body(preferencelist=("plain",))
        return part.get_content() if part is not None else ""


class _SmtpHandler:
    def __init__(self, owner: SmtpServer) -> None:
        self.owner = owner

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        with self.owner.lock:
            if self.owner.fail_remaining > 0:
                self.owner.fail_remaining -= 1
                self.owner.refused += 1
                return "451 4.3.0 Temporary failure, try again later"
            raw = envelope.original_content or b""
            parsed = email.message_from_bytes(raw, policy=email.policy.default)
            assert isinstance(parsed, email.message.EmailMessage)
            self.owner.received.append(
                ReceivedMail(str(envelope.mail_from), [str(r) for r in envelope.rcpt_tos], parsed)
            )
            hold = self.owner.hold_remaining > 0
            if hold:
                self.owner.hold_remaining -= 1
        if hold:  # received, but the sender is not told so until released (or a minute passes)
            self.owner.holding.set()
            for _ in range(1200):
                if self.owner.released.is_set():
                    break
                await asyncio.sleep(0.05)
        return "250 Message accepted for delivery"


class SmtpServer:
    """A real SMTP server on localhost (aiosmtpd) that records what it accepts."""

    def __init__(self) -> None:
        self.host = LOCALHOST
        self.port = free_port()
        self.received: list[ReceivedMail] = []
        self.fail_remaining = 0
        self.refused = 0
        self.hold_remaining = 0
        self.holding = threading.Event()  # set when a held message has been received
        self.released = threading.Event()
        self.lock = threading.Lock()
        self._controller = Controller(_SmtpHandler(self), hostname=self.host, port=self.port)

    def fail_next(self, count: int) -> None:
        """Answer the next ``count`` messages with ``451`` (a temporary failure)."""
        with self.lock:
            self.fail_remaining = count

    def hold_next(self, count: int) -> None:
        """Keep the next ``count`` messages but withhold the ``250`` until :meth:`release`."""
        with self.lock:
            self.hold_remaining = count
            self.holding.clear()
            self.released.clear()

    def release(self) -> None:
        self.released.set()

    def to(self, address: str) -> list[ReceivedMail]:
        return [m for m in self.received if address in m.rcpt_tos]

    def __enter__(self) -> SmtpServer:
        self._controller.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()
        self._controller.stop()


# SMS gateway -------------------------------------------------------------------------------------


@dataclass
class SmsGatewayState:
    token: str
    received: list[dict[str, Any]] = field(default_factory=list)
    requests: int = 0
    fail_remaining: int = 0
    fail_status: int = 503
    hold_remaining: int = 0
    holding: threading.Event = field(default_factory=threading.Event)
    released: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)


class _SmsHandler(BaseHTTPRequestHandler):
    state: SmsGatewayState  # set on the per-server subclass

    def do_POST(self) -> None:
        state = self.state
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length)
        with state.lock:
            state.requests += 1
            if self.headers.get("Authorization") != f"Bearer {state.token}":
                self._answer(401, {"error": "unauthorized"})
                return
            try:
                data = json.loads(body)
                ok = isinstance(data, dict) and all(isinstance(data.get(k), str) for k in ("to", "text"))
            except ValueError:
                ok = False
            if not ok:
                self._answer(400, {"error": "bad request"})
                return
            if state.fail_remaining > 0:
                state.fail_remaining -= 1
                # Like real gateways, echo the number: the client must not copy this into its records.
                self._answer(state.fail_status, {"error": "unavailable", "to": data["to"]})
                return
            state.received.append(data)
            answer = {"id": f"fake-sms-{len(state.received)}"}
            hold = state.hold_remaining > 0
            if hold:
                state.hold_remaining -= 1
        if hold:  # received, but the sender is not told so until released (or a minute passes)
            state.holding.set()
            state.released.wait(60)
        self._answer(200, answer)

    def _answer(self, status: int, payload: dict[str, Any]) -> None:
        raw = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)

    def log_message(self, format: str, *args: Any) -> None:  # keep test output quiet
        pass


class SmsGateway:
    """A local HTTP SMS gateway: ``url`` and ``token`` go into SMS_GATEWAY_URL / SMS_GATEWAY_TOKEN."""

    def __init__(self, token: str = "test-sms-token") -> None:
        self.state = SmsGatewayState(token=token)
        handler = type("BoundSmsHandler", (_SmsHandler,), {"state": self.state})
        self._server = ThreadingHTTPServer((LOCALHOST, 0), handler)
        self.port = int(self._server.server_address[1])
        self.url = f"http://{LOCALHOST}:{self.port}/sms/send"
        self.token = token
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True, name="fake-sms")

    @property
    def received(self) -> list[dict[str, Any]]:
        return self.state.received

    @property
    def requests(self) -> int:
        return self.state.requests

    def fail_next(self, count: int, status: int = 503) -> None:
        with self.state.lock:
            self.state.fail_remaining = count
            self.state.fail_status = status

    def hold_next(self, count: int) -> None:
        """Keep the next ``count`` messages but withhold the answer until :meth:`release`."""
        with self.state.lock:
            self.state.hold_remaining = count
            self.state.holding.clear()
            self.state.released.clear()

    def release(self) -> None:
        self.state.released.set()

    def deliver_replies(
        self, callback_url: str, callback_token: str, replies: list[tuple[str, str]], *, first_id: int = 1
    ) -> tuple[int, dict[str, Any]]:
        """Post SMS that people sent (``(from, text)`` pairs) to the platform's callback, as the gateway
        does: one JSON body ``{"messages": [...]}`` with its own message ids, and its token. Returns
        the platform's status and JSON answer."""
        import urllib.error
        import urllib.request

        from django.utils import timezone

        now = timezone.now().isoformat()
        body = {
            "messages": [
                {"id": f"mo-{first_id + n}", "from": phone, "text": text, "received_at": now}
                for n, (phone, text) in enumerate(replies)
            ]
        }
        request = urllib.request.Request(
            callback_url,
            data=json.dumps(body).encode(),
            headers={"Content-Type": "application/json", "Authorization": f"Bearer {callback_token}"},
            method="POST",
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as answer:
                return answer.status, json.loads(answer.read() or b"{}")
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read() or b"{}")

    def __enter__(self) -> SmsGateway:
        self._thread.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.release()
        self._server.shutdown()
        self._server.server_close()


# Worker subprocesses -----------------------------------------------------------------------------


def database_url() -> str:
    """The URL of the database the tests run on (the test database), for a subprocess."""
    from django.db import connection

    s = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{s['NAME']}"
    if connection.vendor == "postgresql":
        auth = quote(s["USER"] or "", safe="")
        if s.get("PASSWORD"):
            auth += ":" + quote(s["PASSWORD"], safe="")
        host = s.get("HOST") or "localhost"
        port = f":{s['PORT']}" if s.get("PORT") else ""
        return f"postgres://{auth}@{host}{port}/{s['NAME']}"
    raise RuntimeError(f"no subprocess URL for {connection.vendor}")


def worker_env(**extra: str) -> dict[str, str]:
    """Environment for a ``shequ`` subprocess on the test database with the test process's keys."""
    from django.conf import settings

    from shequ.core import keys

    env = dict(os.environ)
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "shequ.settings",
            "SHEQU_DATABASE_URL": database_url(),
            **keys.child_env(),
            "SHEQU_AUDIT_WITNESS_DIR": str(settings.AUDIT_WITNESS_DIR),
            "SHEQU_SECRET_KEY": settings.SECRET_KEY,
            "SHEQU_DEMO": "0",
            "PYTHONUNBUFFERED": "1",
        }
    )
    env.update(extra)
    return env


def start_worker(*args: str, log: Path, env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
    """Start ``shequ worker ARGS`` with its output going to ``log``."""
    out = log.open("ab")
    try:
        return subprocess.Popen(
            [sys.executable, "-m", "shequ.cli", "worker", "--idle-sleep", "0.05", *args],
            env=env or worker_env(),
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    finally:
        out.close()  # the child holds its own copy


def start_serve(port: int, *, log: Path, env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
    """Start ``shequ serve --with-worker --port PORT`` with its output going to ``log``."""
    out = log.open("ab")
    try:
        return subprocess.Popen(
            [sys.executable, "-m", "shequ.cli", "serve", "--with-worker", "--port", str(port)],
            env=env or worker_env(),
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    finally:
        out.close()


# A cuttable TCP relay ----------------------------------------------------------------------------


class TcpProxy:
    """Relays 127.0.0.1:``port`` to ``target``. :meth:`cut` closes every relayed connection and the
    listening socket (new connections are refused, as from a stopped server); :meth:`restore`
    listens again on the same port."""

    def __init__(self, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        self.port = free_port()
        self._lock = threading.Lock()
        self._listener: socket.socket | None = None
        self._sockets: set[socket.socket] = set()

    def __enter__(self) -> TcpProxy:
        self.restore()
        return self

    def __exit__(self, *exc: object) -> None:
        self.cut()

    def restore(self) -> None:
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind((LOCALHOST, self.port))
        listener.listen(64)
        with self._lock:
            self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True, name="proxy-accept").start()

    def cut(self) -> None:
        with self._lock:
            listener, self._listener = self._listener, None
            sockets, self._sockets = self._sockets, set()
        for sock in ([listener] if listener else []) + list(sockets):
            _close(sock)

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return  # cut
            try:
                upstream = socket.create_connection(self.target, timeout=5)
                upstream.settimeout(None)
            except OSError:
                _close(client)
                continue
            with self._lock:
                if self._listener is not listener:  # cut meanwhile
                    _close(client)
                    _close(upstream)
                    return
                self._sockets.update((client, upstream))
            for src, dst in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(src, dst), daemon=True, name="proxy-pump").start()

    def _pump(self, src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        finally:
            with self._lock:
                self._sockets.discard(src)
                self._sockets.discard(dst)
            _close(src)
            _close(dst)


def _close(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)  # wakes a thread blocked in recv() or accept()
    sock.close()
