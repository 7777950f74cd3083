"""The checks ``shequ backup verify`` runs on a restored copy (in a subprocess whose configured
database is the copy): ``shequ backup check MANIFEST`` runs them on the configured database.

Each check says PASS or FAIL with a one-line summary and its details; none prints personal data.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from django.apps import apps
from django.conf import settings
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from shequ.core import audit, crypto
from shequ.core.backup import manifest as mf
from shequ.core.backup.manifest import Manifest
from shequ.core.components import components
from shequ.core.fields import aad, encrypted_fields

SAMPLE = 3  # values per encrypted column from each end of the table


@dataclass
class Check:
    name: str
    ok: bool
    summary: str
    details: list[str] = field(default_factory=list)


def run_all(manifest: Manifest) -> list[Check]:
    # Counts first: nothing has touched the copy yet.
    steps: list[tuple[str, Callable[[Manifest], Check]]] = [
        ("row counts", counts),
        ("integrity", integrity),
        ("migrations", migrations),
        ("audit chain", audit_chain),
        ("keys", keys),
        ("decrypt sample", decrypt_sample),
    ]
    results: list[Check] = []
    for name, step in steps:
        try:
            results.append(step(manifest))
        except Exception as exc:  # a check that cannot run is a failed check, and the others still run
            results.append(Check(name, False, f"could not run: {type(exc).__name__}: {exc}"))
    try:
        results += app_checks()
    except Exception as exc:
        results.append(Check("app checks", False, f"could not run: {type(exc).__name__}: {exc}"))
    return results


def counts(manifest: Manifest) -> Check:
    with connection.cursor() as cursor:
        now = mf.facts(cursor, connection.vendor)
    details = []
    for table in sorted(set(manifest.counts) | set(now["counts"])):
        was, got = manifest.counts.get(table), now["counts"].get(table)
        if was != got:
            details.append(f"{table}: {got if got is not None else 'missing'} rows, the manifest says {was}")
    head = (now["audit"]["head_seq"], now["audit"]["head_hash"])
    if head != (manifest.audit.get("head_seq"), manifest.audit.get("head_hash")):
        details.append(
            f"audit head {head[0]}:{head[1][:16]}…, the manifest says"
            f" {manifest.audit.get('head_seq')}:{str(manifest.audit.get('head_hash'))[:16]}…"
        )
    rows = sum(now["counts"].values())
    return Check(
        "row counts",
        not details,
        f"{len(now['counts'])} tables, {rows:,} rows" + (", as in the manifest" if not details else ""),
        details,
    )


def integrity(manifest: Manifest) -> Check:
    if connection.vendor != "sqlite":
        return Check("integrity", True, "pg_restore loaded the archive in one transaction without an error")
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA integrity_check")
        rows = [str(r[0]) for r in cursor.fetchall()]
    return Check("integrity", rows == ["ok"], f"SQLite integrity_check: {'; '.join(rows[:5])}")


def migrations(manifest: Manifest) -> Check:
    executor = MigrationExecutor(connection)
    graph = executor.loader.graph
    missing = [f"{m.app_label}.{m.name}" for m, backwards in executor.migration_plan(graph.leaf_nodes())]
    unknown = sorted(f"{a}.{n}" for a, n in executor.loader.applied_migrations if (a, n) not in graph.nodes)
    details = [f"not applied in the copy: {name}" for name in missing]
    details += [
        f"applied in the copy but unknown to this code (a newer version made it): {n}" for n in unknown
    ]
    applied = len(executor.loader.applied_migrations)
    summary = f"{applied} applied, as this code expects"
    if missing:
        summary = f"{len(missing)} migrations of this code are missing: run 'shequ migrate' after restoring"
    if unknown:
        summary = (
            f"{len(unknown)} applied migrations are unknown to this code: restore with the newer version"
        )
    return Check("migrations", not details, summary, details)


def audit_chain(manifest: Manifest) -> Check:
    result = audit.verify(copy_taken_at=manifest.taken_at)
    details = list(result.problems)
    expected = (manifest.audit.get("head_seq"), manifest.audit.get("head_hash"))
    if (result.head_seq, result.head_hash) != expected:
        details.append(f"the chain ends at {result.head_seq}, the manifest says {expected[0]}")
    summary = (
        f"{result.checked:,} entries, head {result.head_seq}:{result.head_hash[:16]}…,"
        f" {result.checkpoints} signed checkpoints in the copy"
    )
    if not details:
        summary += ", intact"
    return Check("audit chain", not details, summary, details + [f"note: {n}" for n in result.notes])


def keys(manifest: Manifest) -> Check:
    """The configured keys against those the backup was taken with (compared by fingerprint)."""
    then, now = manifest.keys, mf.key_fingerprints()
    details, notes = [], []
    for kid, print_then in sorted((then.get("field_keys") or {}).items()):
        print_now = now["field_keys"].get(kid)
        if print_now is None:
            notes.append(f"note: field key {kid} was configured at backup time and is not now")
        elif print_now != print_then:
            details.append(
                f"field key {kid} is not the key of that id at backup time: its data will not open"
            )
    if then.get("index_key") and then["index_key"] != now["index_key"]:
        details.append(
            "the index key differs from the one at backup time: ID-number and phone searches would find"
            " nothing; configure the backup's index key, or run 'shequ rotate_keys --reindex' after restoring"
        )
    if then.get("audit_key") and then["audit_key"] != now["audit_key"]:
        details.append(f"the audit key differs (backup: {then['audit_key']}): checkpoints cannot be checked")
    ids = ", ".join(f"{k} {v}" for k, v in now["field_keys"].items())
    return Check("keys", not details, f"configured field keys (id fingerprint): {ids}", details + notes)


def _under_other_keys(table: str, column: str, known: list[str]) -> Counter[str]:
    """Stored values of a column whose key id is not configured, counted by key id."""
    q = mf.quote
    col = q(column)
    sql = f"SELECT substr({col}, 1, 48) FROM {q(table)} WHERE {col} IS NOT NULL AND {col} <> ''"  # noqa: S608
    params = []
    for kid in known:
        sql += f" AND {col} NOT LIKE %s ESCAPE '!'"
        escaped = kid.replace("!", "!!").replace("%", "!%").replace("_", "!_")
        params.append(f"{crypto.PREFIX}:{escaped}:%")
    found: Counter[str] = Counter()
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        for (prefix,) in cursor.fetchall():
            parts = str(prefix).split(":", 2)
            found[parts[1] if len(parts) == 3 and parts[0] == crypto.PREFIX else "(not ciphertext)"] += 1
    return found


def decrypt_sample(manifest: Manifest) -> Check:
    known = sorted(settings.FIELD_KEYS)
    columns = opened = 0
    details = []
    for model in apps.get_models():
        for f in encrypted_fields(model):
            columns += 1
            label = f"{model._meta.label}.{f.name}"
            for kid, n in sorted(_under_other_keys(model._meta.db_table, str(f.column), known).items()):
                details.append(f"{label}: {n:,} values under key {kid}, which is not configured")
            filled = model._base_manager.exclude(**{f.name: ""}).exclude(**{f"{f.name}__isnull": True})
            rows = {
                pk: (uid, value)
                for order in ("pk", "-pk")
                for pk, uid, value in filled.order_by(order).values_list("pk", "uid", f.attname)[:SAMPLE]
            }
            for pk, (uid, value) in sorted(rows.items()):
                try:
                    crypto.decrypt(str(value), aad(model, f.name, uid))
                    opened += 1
                except crypto.CryptoError as exc:
                    details.append(f"{label} row {pk}: {exc}")
    summary = f"{opened} sampled values in {columns} encrypted columns decrypt with keys {', '.join(known)}"
    return Check("decrypt sample", not details, summary, details)


def app_checks() -> list[Check]:
    """What the apps register to keep their derived data honest (the grid's statistics rollup)."""
    results = []
    for component in components():
        for check in component.checks:
            problems = check.run()
            summary = check.label if not problems else f"{check.label}: no, {len(problems)} problem(s)"
            results.append(Check(f"{component.name}", not problems, summary, problems[:20]))
    return results
