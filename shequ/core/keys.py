"""Keys that cannot be silently replaced (issue 8): canaries prove that the configured keys are the
ones that wrote the stored data.

* A field key id names exactly one key. The first time a key id encrypts (per process, see
  ``crypto._prove_field_key``), a fixed text sealed under it is stored as a :class:`KeyCanary`;
  later, a key configured under that id that does not open the canary is refused ("reused key id").
* The index key's canary is the blind index of a fixed value; a changed index key would make every
  ID-number search find nothing, so it is refused too (``rotate_keys --reindex`` moves it on).
* The audit checkpoint key is named by its fingerprint in every checkpoint; the newest one must
  match.
* Databases made before the canaries: two rows per encrypted column (the oldest and the newest,
  found by primary key, never a scan) are opened with the configured keys, and one blind index is
  recomputed from a decrypted row; then the canaries are recorded.
* Development keys (``settings.KEY_DIR``) whose file is missing exist only in memory
  (``settings.NEW_DEV_KEYS``) until a proof shows no stored data needs the lost original; only then
  are they written. While such data exists they are never written, and nothing is sealed under them.

``check_keys()`` runs the whole check for ``shequ serve``, ``shequ worker``, the WSGI entry and
``shequ check-keys``; it raises :class:`KeyCheckError` naming the key and what to do.
"""

from __future__ import annotations

import contextlib
import json
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.apps import apps
from django.conf import settings
from django.db import connection, models

from shequ.core import crypto

CANARY_TEXT = "shequ key canary v1"
INDEX_CANARY_VALUE = "shequ-key-canary"
INDEX_CANARY_PURPOSE = "key-canary"
RESTORE = "`shequ keys import SHARE_FILE...`"


class KeyCheckError(crypto.CryptoError):
    """The configured keys do not open the stored data; the message says which key and what to do."""


def _canary_aad(key_id: str) -> str:
    return f"core.keycanary:{key_id}"


def source(name: str) -> str:
    """Where a key comes from: its environment variable or its file in the key folder."""
    default = {"index": "SHEQU_INDEX_KEY", "audit": "SHEQU_AUDIT_KEY"}.get(name, "SHEQU_FIELD_KEYS")
    return str(getattr(settings, "KEY_SOURCES", {}).get(name, default))


def _dev_name(name: str) -> str:
    """The dev key file name of a key: field:k1 -> field_key_k1."""
    return {"index": "index_key", "audit": "audit_key"}.get(name, "field_key_" + name.removeprefix("field:"))


def _is_new_dev_key(name: str) -> bool:
    return _dev_name(name) in settings.NEW_DEV_KEYS


def _missing_file(name: str, what: str, consequence: str) -> str:
    path = Path(settings.KEY_DIR) / _dev_name(name)
    return (
        f"{path} is missing but the database holds {what}; put the original file back or import it "
        f"from your key shares ({RESTORE}); a new key would {consequence}, so none was created"
    )


def child_env() -> dict[str, str]:
    """The keys this process uses, as the environment of a ``shequ`` subprocess: a child checks and
    opens data with exactly these keys, even when they are development keys held only in memory."""
    return {
        "SHEQU_FIELD_KEYS": json.dumps(settings.FIELD_KEYS),
        "SHEQU_FIELD_KEY_CURRENT": settings.FIELD_KEY_CURRENT,
        "SHEQU_INDEX_KEY": settings.INDEX_KEY,
        "SHEQU_AUDIT_KEY": settings.AUDIT_CHECKPOINT_KEY,
    }


# -- development key files ------------------------------------------------------------------------


def _set_key(dev_name: str, value: str) -> None:
    if dev_name == "index_key":
        settings.INDEX_KEY = value
    elif dev_name == "audit_key":
        settings.AUDIT_CHECKPOINT_KEY = value
    else:
        settings.FIELD_KEYS[dev_name.removeprefix("field_key_")] = value


def _adopt_written(dev_name: str) -> None:
    """A missing dev key file that appeared meanwhile (another process wrote it, or an operator put
    the original back) is the key from now on."""
    path = Path(settings.KEY_DIR) / dev_name
    if dev_name in settings.NEW_DEV_KEYS and path.exists():
        settings.NEW_DEV_KEYS.pop(dev_name)
        _set_key(dev_name, path.read_text().strip())


def _write_new(dev_name: str) -> bool:
    """Write a new dev key once its proof passed. True if another process's key won the race (it is
    adopted, and the caller must prove again)."""
    if dev_name not in settings.NEW_DEV_KEYS:
        return False
    from shequ.settings import _write_once, private_dir

    ours = settings.NEW_DEV_KEYS[dev_name]
    private_dir(Path(settings.KEY_DIR))
    written = _write_once(Path(settings.KEY_DIR) / dev_name, ours)
    settings.NEW_DEV_KEYS.pop(dev_name, None)
    if written != ours:
        _set_key(dev_name, written)
        return True
    return False


# -- what the database holds ----------------------------------------------------------------------


def _tables() -> set[str]:
    return set(connection.introspection.table_names())


def _has_canary_table(tables: set[str] | None = None) -> bool:
    from shequ.core.models import KeyCanary

    return KeyCanary._meta.db_table in (tables if tables is not None else _tables())


@dataclass
class Sample:
    """One stored ciphertext: where it is and under which key id."""

    model: type[models.Model]
    field_name: str
    uid: Any
    sealed: str

    @property
    def where(self) -> str:
        return f"{self.model._meta.label}.{self.field_name}"

    @property
    def key_id(self) -> str:
        return crypto.key_id_of(self.sealed)


def _encrypted_columns(tables: set[str]) -> Iterator[tuple[type[models.Model], Any]]:
    from shequ.core.fields import encrypted_fields

    for model in apps.get_models():
        if model._meta.db_table in tables:
            for f in encrypted_fields(model):
                yield model, f


def samples(tables: set[str] | None = None) -> list[Sample]:
    """The oldest and the newest value of every encrypted column, by primary key: two indexed
    queries per column, whatever the size of the table."""
    tables = _tables() if tables is None else tables
    found: list[Sample] = []
    for model, f in _encrypted_columns(tables):
        rows = model._base_manager.exclude(**{f.attname: ""}).values_list("uid", f.attname)
        seen: set[Any] = set()
        for row in (rows.order_by("pk").first(), rows.order_by("-pk").first()):
            if row and row[0] not in seen and crypto.is_ciphertext(row[1]):
                seen.add(row[0])
                found.append(Sample(model, f.name, row[0], str(row[1])))
    return found


def _opens(sample: Sample) -> bool:
    from shequ.core.fields import aad

    try:
        crypto.decrypt(sample.sealed, aad(sample.model, sample.field_name, sample.uid))
    except crypto.CryptoError:
        return False
    return True


def _newest_canary(kind: str, key_id: str) -> Any:
    from shequ.core.models import KeyCanary

    return KeyCanary.objects.filter(kind=kind, key_id=key_id).order_by("-id").first()


# -- field keys -----------------------------------------------------------------------------------


def field_fingerprint(key_id: str) -> str:
    return crypto.fingerprint("field", crypto.field_key_bytes(key_id))


def index_fingerprint() -> str:
    return crypto.fingerprint("index", crypto.index_key_bytes())


def audit_fingerprint() -> str:
    from shequ.core import audit

    return audit.key_id()


def _field_problem(key_id: str, canary: Any, key_samples: list[Sample]) -> str:
    """What is wrong with field key ``key_id`` against its canary and the sampled data, or ''."""
    name = f"field:{key_id}"
    what = f"data encrypted with field key {key_id}"
    if key_id not in settings.FIELD_KEYS:
        where = ", ".join(sorted({s.where for s in key_samples})) or "its key canary"
        return (
            f"field key {key_id} is not configured ({source(name)}) but the database holds {what} "
            f"({where}); restore it from your key backup ({RESTORE}) and configure it"
        )
    try:
        fp = field_fingerprint(key_id)
    except crypto.CryptoError as exc:
        return f"field key {key_id} ({source(name)}) is unusable: {exc}"
    if canary is not None:
        try:
            ok = crypto.decrypt(canary.canary, _canary_aad(key_id)) == CANARY_TEXT
        except crypto.CryptoError:
            ok = False
        if ok:
            return ""
        needed = f"the key with fingerprint {canary.fingerprint}"
    else:
        bad = [s for s in key_samples if not _opens(s)]
        if not bad:
            return ""
        needed = f"the key that wrote {bad[0].where}"
    if _is_new_dev_key(name):
        return _missing_file(name, what, "make that data unreadable")
    return (
        f"the key configured as {key_id} ({source(name)}, fingerprint {fp}) is not the key that "
        f"encrypted the stored data (reused key id); the data needs {needed}. Restore the original "
        f"key {key_id} from your key backup ({RESTORE}), and give any new key a new id"
    )


def _record_field_canary(key_id: str) -> None:
    from shequ.core.models import KeyCanary, KeyKind

    KeyCanary.objects.create(
        kind=KeyKind.FIELD,
        key_id=key_id,
        canary=crypto.seal(CANARY_TEXT, _canary_aad(key_id), key_id),
        fingerprint=field_fingerprint(key_id),
    )


def prove_field_key(key_id: str) -> None:
    """Before the first encryption under ``key_id`` in this process: refuse a key that is not the one
    that wrote the stored data, write a new dev key only when no data needs the lost original, and
    record the key's canary."""
    from shequ.core.models import KeyKind

    dev_name = _dev_name(f"field:{key_id}")
    _adopt_written(dev_name)
    tables = _tables()
    with_table = _has_canary_table(tables)
    for _attempt in range(2):
        canary = _newest_canary(KeyKind.FIELD, key_id) if with_table else None
        key_samples = [s for s in samples(tables) if s.key_id == key_id] if canary is None else []
        problem = _field_problem(key_id, canary, key_samples)
        if problem:
            raise KeyCheckError(problem)
        if not _write_new(dev_name):
            break
    if with_table and canary is None:
        _record_field_canary(key_id)


# -- the index key --------------------------------------------------------------------------------


def _index_canary_value() -> str:
    return crypto.raw_blind_index(INDEX_CANARY_VALUE, INDEX_CANARY_PURPOSE)


def _index_sample(tables: set[str]) -> tuple[str, bool] | None:
    """One stored blind index recomputed from its decrypted source: (where, matches)."""
    from shequ.core.fields import aad, blind_index_fields, encrypted_fields

    for model in apps.get_models():
        if model._meta.db_table not in tables:
            continue
        sources = {f.name: f for f in encrypted_fields(model)}
        for index in blind_index_fields(model):
            src = sources.get(index.source)
            if src is None:
                continue
            row = (
                model._base_manager.exclude(**{index.attname: ""})
                .exclude(**{src.attname: ""})
                .order_by("-pk")
                .values_list("uid", src.attname, index.attname)
                .first()
            )
            if row is None:
                continue
            try:
                plain = crypto.decrypt(str(row[1]), aad(model, src.name, row[0]))
            except crypto.CryptoError:
                continue  # the field key check reports this
            return f"{model._meta.label}.{index.name}", crypto.raw_blind_index(plain, index.purpose) == row[2]
    return None


def _index_problem(canary: Any, sample: tuple[str, bool] | None) -> str:
    what = "blind indexes built with the index key"
    try:
        fp = index_fingerprint()
    except crypto.CryptoError as exc:
        return f"the index key ({source('index')}) is unusable: {exc}"
    if canary is not None:
        if canary.canary == _index_canary_value():
            return ""
        needed = f"fingerprint {canary.fingerprint}"
    elif sample is None or sample[1]:
        return ""
    else:
        needed = f"the key that built {sample[0]}"
    if _is_new_dev_key("index"):
        return _missing_file("index", what, "make ID-number and phone searches find nothing")
    return (
        f"the index key ({source('index')}, fingerprint {fp}) is not the key that built the stored "
        f"blind indexes ({needed}): ID-number and phone searches would find nothing. Put the original "
        f"index key back ({RESTORE}); if you changed it on purpose, run `shequ rotate_keys --reindex` "
        "to rebuild the indexes under the new key"
    )


def record_index_canary() -> None:
    from shequ.core.models import KeyCanary, KeyKind

    KeyCanary.objects.create(
        kind=KeyKind.INDEX, key_id="index", canary=_index_canary_value(), fingerprint=index_fingerprint()
    )


def prove_index_key() -> None:
    """Before the first blind index under this index key in this process (see prove_field_key)."""
    from shequ.core.models import KeyKind

    _adopt_written("index_key")
    tables = _tables()
    with_table = _has_canary_table(tables)
    for _attempt in range(2):
        canary = _newest_canary(KeyKind.INDEX, "index") if with_table else None
        problem = _index_problem(canary, _index_sample(tables) if canary is None else None)
        if problem:
            raise KeyCheckError(problem)
        if not _write_new("index_key"):
            break
    if with_table and canary is None:
        record_index_canary()


@contextlib.contextmanager
def reindexing() -> Iterator[None]:
    """``rotate_keys --reindex``: blind indexes are computed under the new index key before its
    canary is recorded."""
    crypto._index_proof_suspended = True
    try:
        yield
    finally:
        crypto._index_proof_suspended = False


# -- the audit checkpoint key ---------------------------------------------------------------------

_proven_audit_keys: set[str] = set()


def _audit_problem(tables: set[str]) -> str:
    from shequ.core.models import AuditCheckpoint

    if AuditCheckpoint._meta.db_table not in tables:
        return ""
    newest = AuditCheckpoint.objects.order_by("-seq").first()
    try:
        configured = audit_fingerprint()
    except ValueError as exc:
        return str(exc)
    if newest is None or newest.key_id == configured:
        return ""
    if _is_new_dev_key("audit"):
        return _missing_file(
            "audit", "audit checkpoints signed with the audit key", "leave those checkpoints unverifiable"
        )
    return (
        f"the audit checkpoint key ({source('audit')}, key id {configured}) is not the key that signed "
        f"the stored checkpoints (key id {newest.key_id}): the audit log could not be verified. Put the "
        f"original key back ({RESTORE})"
    )


def prove_audit_key() -> None:
    """Before signing a checkpoint: the key is the one that signed the last, and a new dev key is
    written before anything is signed with it."""
    if settings.AUDIT_CHECKPOINT_KEY in _proven_audit_keys:
        return
    _adopt_written("audit_key")
    for _attempt in range(2):
        problem = _audit_problem(_tables())
        if problem:
            raise KeyCheckError(problem)
        if not _write_new("audit_key"):
            break
    _proven_audit_keys.add(settings.AUDIT_CHECKPOINT_KEY)


# -- the whole check ------------------------------------------------------------------------------


@dataclass
class KeyStatus:
    name: str
    fingerprint: str
    source: str
    canaries: int = 0
    sampled: int = 0
    problem: str = ""

    def line(self) -> str:
        state = "PROBLEM" if self.problem else "OK"
        return (
            f"{self.name:<14} fingerprint {self.fingerprint or '-':<16}  {self.canaries} canar"
            f"{'y' if self.canaries == 1 else 'ies'}, {self.sampled} stored value(s) opened  {state}"
            f"  ({self.source})"
        )


@dataclass
class KeyReport:
    keys: list[KeyStatus] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    recorded: list[str] = field(default_factory=list)
    written: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def _safe(fn: Any) -> str:
    try:
        return str(fn())
    except (crypto.CryptoError, ValueError):
        return ""


def inspect_keys(*, index: bool = True) -> KeyReport:
    """Check every key against the canaries and a sample of the stored data; change nothing."""
    from shequ.core.models import KeyCanary, KeyKind

    report = KeyReport()
    seen: dict[bytes, str] = {}
    for key_id in sorted(settings.FIELD_KEYS):
        with contextlib.suppress(crypto.CryptoError):  # reported below
            raw = crypto.field_key_bytes(key_id)
            if raw in seen:
                report.problems.append(
                    f"field keys {seen[raw]} and {key_id} are the same key: a key id names exactly one "
                    f"key. Give {key_id} its own new key ({source('field:' + key_id)})"
                )
            seen.setdefault(raw, key_id)
    tables = _tables()
    canaries: dict[tuple[str, str], list[Any]] = {}
    if _has_canary_table(tables):
        for row in KeyCanary.objects.order_by("id"):
            canaries.setdefault((row.kind, row.key_id), []).append(row)
    stored = samples(tables)
    ids = set(settings.FIELD_KEYS) | {k for kind, k in canaries if kind == KeyKind.FIELD}
    ids |= {s.key_id for s in stored}
    for key_id in sorted(ids):
        rows = canaries.get((KeyKind.FIELD, key_id), [])
        key_samples = [s for s in stored if s.key_id == key_id]
        status = KeyStatus(
            f"field key {key_id}",
            _safe(lambda k=key_id: field_fingerprint(k)) if key_id in settings.FIELD_KEYS else "",
            source(f"field:{key_id}"),
            canaries=len(rows),
            sampled=sum(1 for s in key_samples if _opens(s)),
        )
        status.problem = _field_problem(key_id, rows[-1] if rows else None, key_samples)
        if status.problem and _is_new_dev_key(f"field:{key_id}"):
            status.fingerprint = "missing"  # not the fingerprint of a key made up in memory
        report.keys.append(status)
    index_rows = canaries.get((KeyKind.INDEX, "index"), [])
    sample = _index_sample(tables)
    status = KeyStatus(
        "index key",
        _safe(index_fingerprint),
        source("index"),
        canaries=len(index_rows),
        sampled=int(bool(sample and sample[1])),
    )
    if index:
        status.problem = _index_problem(index_rows[-1] if index_rows else None, sample)
    if status.problem and _is_new_dev_key("index"):
        status.fingerprint = "missing"
    report.keys.append(status)
    from shequ.core.models import AuditCheckpoint

    checkpoints = AuditCheckpoint.objects.count() if AuditCheckpoint._meta.db_table in tables else 0
    status = KeyStatus("audit key", _safe(audit_fingerprint), source("audit"), canaries=checkpoints)
    status.problem = _audit_problem(tables)
    if status.problem and _is_new_dev_key("audit"):
        status.fingerprint = "missing"
    report.keys.append(status)
    report.problems += [s.problem for s in report.keys if s.problem]
    return report


def check_keys(*, index: bool = True) -> KeyReport:
    """The start-up check: raise KeyCheckError unless the configured keys open the stored data;
    then write new dev keys (nothing needs a lost original) and record missing canaries."""
    from shequ.core.models import KeyKind

    for dev_name in list(settings.NEW_DEV_KEYS):
        _adopt_written(dev_name)
    report = inspect_keys(index=index)
    if not report.ok:
        raise KeyCheckError("\n".join(report.problems))
    raced = False
    for dev_name in list(settings.NEW_DEV_KEYS):
        if (
            dev_name in {"index_key", "audit_key"}
            or dev_name.removeprefix("field_key_") in settings.FIELD_KEYS
        ):
            raced |= _write_new(dev_name)
            report.written.append(str(Path(settings.KEY_DIR) / dev_name))
    if raced:  # another process wrote its keys first: prove those
        return check_keys(index=index)
    if not _has_canary_table():
        return report
    for status in report.keys:
        key_id = status.name.removeprefix("field key ")
        if status.name.startswith("field key ") and not status.canaries and status.sampled:
            _record_field_canary(key_id)  # a database from before the canaries
            report.recorded.append(status.name)
    if index and _newest_canary(KeyKind.INDEX, "index") is None:
        record_index_canary()
        report.recorded.append("index key")
    return report


_checked = False


def refuse_to_start() -> None:
    """For the WSGI entry: print the check's message and exit non-zero (no traceback)."""
    try:
        start_up_check()
    except KeyCheckError as exc:
        sys.stderr.write(f"Shequ refuses to start: {exc}\n")
        raise SystemExit(1) from None


def start_up_check(stop: Callable[[], bool] | None = None) -> None:
    """For ``serve`` and ``worker``: raise KeyCheckError once per process, else remember the pass.
    A database that is down at start is waited for (with the outage backoff): the keys can only be
    proven against it, and nothing may run under keys that were not."""
    global _checked
    from shequ.core import outage

    watch = outage.OutageWatch("start-up key check")
    while not _checked:
        try:
            check_keys()
        except outage.DATABASE_ERRORS as exc:
            outage.sleep(watch.failed(exc), stop)
            if stop is not None and stop():
                return
            continue
        watch.ok()
        _checked = True
