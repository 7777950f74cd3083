"""Bulk writing of new rows: the one writer behind every bulk load (imports, the demo generator).

PostgreSQL: primary keys drawn from the table's sequence, then one ``COPY … FROM STDIN``; SQLite:
one prepared ``INSERT`` run over all rows; other databases: ``bulk_create``. Every path stores what
``save()`` would: encrypted fields sealed to their row's ``uid`` and column, blind indexes computed
from the plaintext, field defaults filled in.

* :func:`insert_rows` takes plain rows (``attname → value`` dicts, plaintext for encrypted fields)
  and returns their new keys in order. No model instances: building them is the cost that dominates
  bulk work in Python. Use it for high-volume tables.
* :func:`bulk_insert` takes unsaved instances and sets their keys; each field's ``pre_save`` runs,
  as in ``bulk_create``, and foreign keys to objects saved earlier are resolved.
* :func:`fork_map` runs CPU-bound work (validation, encryption) over ranges of a big input in
  forked processes; :func:`insert_rows` uses it to seal and format rows while this process streams.
* :func:`paused_gc` keeps the cyclic garbage collector out of a bulk job.

The raw cursor skips the debug wrapper's SQL logging; the caller's transaction (or the one opened
here) keeps each call all-or-nothing.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import gc
import json
import multiprocessing
import re
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any, TypeVar

from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, connections, models, transaction
from django.utils import timezone

from shequ.core import crypto
from shequ.core.fields import BlindIndexField, EncryptedTextField, Sealed, aad

M = TypeVar("M", bound=models.Model)

# Rows per COPY block (and per task in worker processes); instances per batch in bulk_insert.
BLOCK_ROWS = 2000
BATCH_SIZE = 5000
# Inputs smaller than this are handled in one process: forking costs more.
PARALLEL_MIN_ROWS = 5000

# Fields whose stored value is the attribute itself: no conversion to pay for per row.
_PLAIN_FIELDS: frozenset[type[models.Field[Any, Any]]] = frozenset(
    {
        models.AutoField,
        models.BigAutoField,
        models.CharField,
        models.SlugField,
        models.TextField,
        models.IntegerField,
        models.SmallIntegerField,
        models.BigIntegerField,
        models.PositiveIntegerField,
        models.PositiveSmallIntegerField,
        models.PositiveBigIntegerField,
        models.BooleanField,
        models.ForeignKey,
        EncryptedTextField,  # sealed before conversion: the ciphertext is the stored text
        BlindIndexField,
    }
)


def _add_time(timings: dict[str, float] | None, phase: str, seconds: float) -> None:
    if timings is not None:
        timings[phase] = timings.get(phase, 0.0) + seconds


# --- Garbage collection ---------------------------------------------------------------------------


@contextlib.contextmanager
def paused_gc() -> Iterator[None]:
    """Bulk work keeps hundreds of thousands of rows alive; the cyclic collector would walk them
    again each time its counts overflow (a quarter of an import's CPU). Reference counting still
    frees everything acyclic meanwhile. Nested and concurrent uses leave the collector on at the end
    if it was on at the start of the outermost one."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


# --- Forked workers ---------------------------------------------------------------------------

_FORK_STATE: dict[str, Any] = {}


def fork_state() -> Any:
    """The ``state`` given to the running :func:`fork_map` (inherited by the fork, not pickled)."""
    return _FORK_STATE["state"]


def fork_map(
    func: Callable[[tuple[int, int]], Any], state: Any, count: int, workers: int, *, step: int = 0
) -> Iterator[tuple[tuple[int, int], Any]]:
    """``func`` over ranges of ``count`` items, in order: in ``workers`` forked processes for big
    inputs (the workers never touch the database), else here. ``func`` reads its input through
    :func:`fork_state`. Results come back as they are ready, so the caller can write one range
    while the workers prepare the next."""
    parallel = workers > 1 and count >= PARALLEL_MIN_ROWS
    step = step or (-(-count // (workers * 4)) if parallel else count) or 1
    ranges = [(start, min(start + step, count)) for start in range(0, count, step)]
    _FORK_STATE["state"] = state
    try:
        if not parallel:
            for span in ranges:
                yield span, func(span)
            return
        with multiprocessing.get_context("fork").Pool(workers) as pool:
            yield from zip(ranges, pool.imap(func, ranges), strict=True)
    finally:
        _FORK_STATE.clear()


# --- Keys -------------------------------------------------------------------------------------


def allocate_ids(model: type[models.Model], count: int) -> list[int]:
    """``count`` new primary keys, so rows written in bulk can be referred to by the rows that
    follow: from the table's sequence on PostgreSQL; on SQLite counted on from the largest (the
    caller's transaction holds SQLite's write lock)."""
    meta = model._meta
    assert meta.pk is not None
    if count == 0:
        return []
    with connection.cursor() as cursor:
        raw = cursor.cursor
        if connection.vendor == "postgresql":
            raw.execute(
                "SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
                [meta.db_table, meta.pk.column, count],
            )
            return [row[0] for row in raw.fetchall()]
        quote = connection.ops.quote_name
        table = quote(meta.db_table)
        raw.execute(f"SELECT COALESCE(MAX({quote(str(meta.pk.column))}), 0) FROM {table}")  # noqa: S608
        first = int(raw.fetchone()[0]) + 1
        return list(range(first, first + count))


# --- PostgreSQL COPY text -----------------------------------------------------------------------

_COPY_SPECIAL = re.compile(r"[\\\t\n\r]")
_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def copy_text(value: Any) -> str:
    """One value in PostgreSQL's text COPY format (what psycopg's ``write_row`` sends, without its
    per-value dispatch: bulk loads write millions of values)."""
    if type(value) is str:
        return value.translate(_COPY_ESCAPES) if _COPY_SPECIAL.search(value) else value
    if value is None:
        return "\\N"
    if value is True:
        return "t"
    if value is False:
        return "f"
    if isinstance(value, dict | list):
        value = json.dumps(value, ensure_ascii=False, cls=DjangoJSONEncoder)
    elif isinstance(value, dt.datetime):
        if timezone.is_naive(value):
            raise ValueError("naive datetime in a bulk insert")
        return value.isoformat()
    elif not isinstance(value, str):
        return str(value)  # int, date, UUID, Decimal
    return value.translate(_COPY_ESCAPES) if _COPY_SPECIAL.search(value) else value


def _memoized(convert: Callable[[Any], str]) -> Callable[[Any], str]:
    """For columns with few distinct values (dates, the batch's timestamp)."""
    memo: dict[Any, str] = {}

    def text(value: Any) -> str:
        try:
            return memo[value]
        except KeyError:
            memo[value] = result = convert(value)
            return result

    return text


def _json_text(field: models.JSONField[Any]) -> Callable[[Any], str]:
    encoder = field.encoder or DjangoJSONEncoder

    def text(value: Any) -> str:
        if value is None:
            return "\\N"
        return copy_text(json.dumps(value, ensure_ascii=False, cls=encoder))

    return text


def _text_of(field: models.Field[Any, Any]) -> Callable[[Any], str]:
    """The COPY text of one column's values, chosen once per column rather than per value."""
    if type(field) in _PLAIN_FIELDS:
        return copy_text
    if isinstance(field, models.JSONField):
        return _json_text(field)
    if isinstance(field, models.DateField) and not (field.auto_now or field.auto_now_add):
        return _memoized(copy_text)  # dates and datetimes (a DateTimeField is a DateField)
    if isinstance(field, models.UUIDField):
        return copy_text
    conn = connections[connection.alias]
    return lambda value: copy_text(field.get_db_prep_save(value, conn))


# --- Rows as dicts --------------------------------------------------------------------------------

_MISSING = object()


class _RowPlan:
    """What one :func:`insert_rows` call needs per column, worked out once."""

    def __init__(self, model: type[models.Model]) -> None:
        meta = model._meta
        assert meta.pk is not None
        self.model = model
        self.pk = meta.pk
        self.fields = [f for f in meta.concrete_fields if f is not meta.pk]
        self.sealed = [f for f in self.fields if isinstance(f, EncryptedTextField)]
        self.indexes = [f for f in self.fields if isinstance(f, BlindIndexField)]
        # Defaults are computed once per call (one timestamp for the batch), except those of unique
        # fields (the row's uid), which are drawn per row.
        self.per_row: dict[str, Callable[[], Any]] = {}
        self.defaults: dict[str, Any] = {}
        for f in self.fields:
            if f.has_default() and callable(f.default) and (f.unique or isinstance(f, models.UUIDField)):
                self.per_row[f.attname] = f.default
            else:
                self.defaults[f.attname] = f.get_default() if f.has_default() or not f.null else None
        self.needs_copy = bool(self.per_row or self.sealed or self.indexes)

    def complete(self, row: Mapping[str, Any]) -> Mapping[str, Any]:
        """The row with its per-row defaults, sealed values and blind indexes, as ``pre_save``
        computes them: ciphertext bound to the row's ``uid`` and column, an index computed unless
        given (the duplicate check of an import has it already)."""
        if not self.needs_copy:
            return row
        out = dict(row)
        for name, factory in self.per_row.items():
            if name not in out:
                out[name] = factory()
        for f in self.indexes:
            if f.attname not in out:
                raw = out.get(f.source) or ""
                if isinstance(raw, Sealed):
                    raise TypeError(f"{f.attname}: give the blind index of a value that is sealed already")
                out[f.attname] = crypto.blind_index(str(raw), f.purpose) if raw else ""
        for sealed in self.sealed:
            value = out.get(sealed.attname) or ""
            if value and not isinstance(value, Sealed):
                out[sealed.attname] = crypto.encrypt(str(value), aad(self.model, sealed.name, out["uid"]))
        return out

    def copy_block(self, rows: Sequence[Mapping[str, Any]], ids: Sequence[int]) -> str:
        """COPY text of ``rows`` with primary keys ``ids``."""
        columns = []
        for f in self.fields:
            text = _text_of(f)
            default = self.defaults.get(f.attname, _MISSING)
            columns.append((f.attname, text, "" if default is _MISSING else text(default)))
        lines = []
        for row, pk in zip(rows, ids, strict=True):
            row = self.complete(row)
            parts = [str(pk)]
            for name, text, default in columns:
                value = row.get(name, _MISSING)
                parts.append(default if value is _MISSING else text(value))
            lines.append("\t".join(parts))
        return "\n".join(lines) + "\n" if lines else ""

    def db_values(self, row: Mapping[str, Any], pk: int) -> list[Any]:
        """Parameters of one row for an ``INSERT`` (SQLite)."""
        conn = connections[connection.alias]
        row = self.complete(row)
        values: list[Any] = [pk]
        for f in self.fields:
            value = row[f.attname] if f.attname in row else self.defaults[f.attname]
            values.append(value if type(f) in _PLAIN_FIELDS else f.get_db_prep_save(value, conn))
        return values


def _copy_block_range(span: tuple[int, int]) -> str:
    plan, rows, ids = fork_state()
    return str(plan.copy_block(rows[span[0] : span[1]], ids[span[0] : span[1]]))


def insert_rows(
    model: type[models.Model],
    rows: Sequence[Mapping[str, Any]],
    *,
    workers: int = 1,
    timings: dict[str, float] | None = None,
) -> list[int]:
    """Insert rows given as ``attname → value`` (other columns take their field defaults) and return
    their new primary keys, in order. ``workers`` > 1 seals and formats big inputs in that many
    forked processes (PostgreSQL)."""
    if not rows:
        return []
    vendor = connection.vendor
    if vendor not in ("postgresql", "sqlite"):  # portable: through model instances
        objs = [model(**row) for row in rows]
        bulk_insert(model, objs, timings=timings)
        return [int(obj.pk) for obj in objs]
    plan = _RowPlan(model)
    meta = model._meta
    quote = connection.ops.quote_name
    table = quote(meta.db_table)
    columns = ", ".join(quote(str(f.column)) for f in [plan.pk, *plan.fields])
    prepare = write = 0.0
    with transaction.atomic(), connection.cursor() as cursor, connection.wrap_database_errors:
        raw: Any = cursor.cursor  # the driver's cursor under Django's wrapper
        ids = allocate_ids(model, len(rows))
        if vendor == "postgresql":
            with raw.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
                started = time.perf_counter()
                state = (plan, rows, ids)
                for _span, text in fork_map(_copy_block_range, state, len(rows), workers, step=BLOCK_ROWS):
                    prepared = time.perf_counter()
                    prepare += prepared - started
                    copy.write(text)
                    started = time.perf_counter()
                    write += started - prepared
            write += time.perf_counter() - started  # the server finishing the COPY
        else:
            started = time.perf_counter()
            values = [plan.db_values(row, pk) for row, pk in zip(rows, ids, strict=True)]
            prepare = time.perf_counter() - started
            marks = ", ".join("?" * (len(plan.fields) + 1))
            raw.executemany(f"INSERT INTO {table} ({columns}) VALUES ({marks})", values)  # noqa: S608
            write = time.perf_counter() - started - prepare
    _add_time(timings, f"prepare {meta.model_name}", prepare)
    _add_time(timings, f"write {meta.model_name}", write)
    return ids


# --- Model instances ------------------------------------------------------------------------------


def _memoizable(field: models.Field[Any, Any]) -> bool:
    """Date and time fields whose stored form depends on the value alone (no ``auto_now``)."""
    return isinstance(field, models.DateField) and not (field.auto_now or field.auto_now_add)


def _db_rows(objs: Sequence[models.Model], concrete: list[models.Field[Any, Any]]) -> list[list[Any]]:
    """Each object's column values as ``bulk_create`` computes them (``pre_save``, then
    ``get_db_prep_save``), with plain fields read directly and dates converted once per value. A
    foreign key still unset takes the key of the related object assigned before it was saved."""
    conn = connections[connection.alias]  # the wrapper itself, not the per-attribute proxy
    plain = _PLAIN_FIELDS - {EncryptedTextField, BlindIndexField}  # these compute in pre_save
    plan: list[tuple[str, str | None, models.Field[Any, Any] | None, dict[Any, Any] | None]] = [
        (
            f.attname,
            f.name if f.is_relation else None,
            None if type(f) in plain else f,
            {} if _memoizable(f) else None,
        )
        for f in concrete
    ]
    rows = []
    for obj in objs:
        values = obj.__dict__
        cache = obj._state.fields_cache
        row = []
        for attname, relation, f, memo in plan:
            if memo is not None:
                value = values[attname]
                if value not in memo:
                    memo[value] = f.get_db_prep_save(value, conn)  # type: ignore[union-attr]
                row.append(memo[value])
                continue
            if f is not None:
                row.append(f.get_db_prep_save(f.pre_save(obj, True), conn))
                continue
            value = values[attname]
            if value is None and relation is not None:
                related = cache.get(relation)
                if related is not None:
                    if related.pk is None:
                        raise ValueError(f"{type(obj).__name__}.{relation} refers to an unsaved object")
                    value = values[attname] = related.pk
            row.append(value)
        rows.append(row)
    return rows


def bulk_insert(
    model: type[M],
    objs: Sequence[M],
    *,
    batch_size: int = BATCH_SIZE,
    timings: dict[str, float] | None = None,
) -> None:
    """Insert unsaved instances and set their primary keys (kept when set already). Every path
    calls each field's ``pre_save`` and ``get_db_prep_save`` as ``bulk_create`` does, so encrypted
    fields are sealed to their row and blind indexes computed."""
    if not objs:
        return
    vendor = connection.vendor
    if vendor not in ("postgresql", "sqlite"):
        model._default_manager.bulk_create(objs, batch_size=batch_size)
        return
    meta = model._meta
    quote = connection.ops.quote_name
    table = quote(meta.db_table)
    concrete = list(meta.concrete_fields)
    columns = ", ".join(quote(str(f.column)) for f in concrete)
    with transaction.atomic(), connection.cursor() as cursor, connection.wrap_database_errors:
        raw: Any = cursor.cursor
        need_keys = [obj for obj in objs if obj.pk is None]
        for obj, key in zip(need_keys, allocate_ids(model, len(need_keys)), strict=True):
            obj.pk = key
        for i in range(0, len(objs), batch_size):
            started = time.perf_counter()
            rows = _db_rows(objs[i : i + batch_size], concrete)
            prepared = time.perf_counter()
            if vendor == "postgresql":
                with raw.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
                    for row in rows:
                        copy.write_row(row)
            else:
                marks = ", ".join("?" * len(concrete))
                sql = f"INSERT INTO {table} ({columns}) VALUES ({marks})"  # noqa: S608 - quoted names
                raw.executemany(sql, rows)
            _add_time(timings, f"prepare {meta.model_name}", prepared - started)
            _add_time(timings, f"write {meta.model_name}", time.perf_counter() - prepared)
    for obj in objs:
        obj._state.adding = False
        obj._state.db = connection.alias
