"""Model fields for personal data: plaintext in Python, SM4-GCM ciphertext in the database.

Rules for code that touches encrypted fields (all enforced or documented here):

* Reading ``obj.phone`` decrypts lazily; saving re-encrypts only a changed value.
* Queries cannot use plaintext: ``User.objects.filter(phone="138…")`` raises ``TypeError`` and
  pattern lookups (``__contains``, ``__startswith`` …) raise ``FieldError``. Look rows up through
  the blind index (``phone_index=crypto.blind_index(value, "phone")``).
* ``QuerySet.update(phone=…)`` and ``bulk_update([...], ["phone"])`` with plaintext raise
  ``TypeError``: they bypass ``pre_save`` and cannot bind the ciphertext to its row. Use ``save()``
  (or ``bulk_create``, which does call ``pre_save``).
* ``.values()``/``.values_list()`` return the stored ciphertext (a :class:`Sealed` string), never
  plaintext. Selectors must not use them on encrypted fields to show data; load model instances.
* Serializers (``dumpdata``) write the ciphertext and the row's ``uid``, never plaintext. A raw load
  (``loaddata``) is refused with ``TypeError`` because Django reads the attribute, which decrypts;
  restore such dumps with ``obj.object.save()`` per deserialized object, or back up with the
  database's own tools (``pg_dump``, SQLite ``.backup``), which copy ciphertext as it is.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Any

from django.db import models
from django.db.models.query_utils import DeferredAttribute

from shequ.core import crypto


class Sealed(str):
    """A ciphertext as loaded from the database, not yet decrypted."""

    __slots__ = ()


def aad(model: type[models.Model] | models.Model, field_name: str, uid: Any) -> str:
    """The associated data that binds a ciphertext to one column of one row."""
    return f"{model._meta.label_lower}.{field_name}:{uid}"


def row_aad(instance: models.Model, field_name: str) -> str:
    uid = getattr(instance, "uid", None)
    if uid is None:
        raise TypeError(f"{type(instance).__name__} needs a uid field to hold encrypted fields")
    return aad(instance, field_name, uid)


def _cache_name(attname: str) -> str:
    return f"_sealed_{attname}"


class _EncryptedDescriptor(DeferredAttribute):
    """Loads a deferred value like Django does, then decrypts it on first read."""

    field: EncryptedTextField

    def __get__(self, instance: models.Model | None, cls: type | None = None) -> Any:
        if instance is None:
            return self
        value = super().__get__(instance, cls)
        if isinstance(value, Sealed):
            plain = crypto.decrypt(value, row_aad(instance, self.field.name))
            instance.__dict__[self.field.attname] = plain
            # Keep the stored ciphertext so an unchanged value is not re-encrypted on save.
            instance.__dict__[_cache_name(self.field.attname)] = (plain, value)
            return plain
        return value

    def __set__(self, instance: models.Model, value: Any) -> None:
        instance.__dict__[self.field.attname] = "" if value is None else value


class EncryptedTextField(models.TextField):
    """Stores SM4-GCM ciphertext bound to the row (``uid``) and column. Not searchable: pair it
    with a :class:`BlindIndexField` for exact lookups.

    ``secret=True`` marks credentials (e.g. a TOTP seed) that no one may ever reveal, as opposed
    to personal data that can be revealed with a permission and a reason.
    """

    descriptor_class = _EncryptedDescriptor
    # Only lookups that compare whole stored values make sense on ciphertext.
    _ALLOWED_LOOKUPS = frozenset({"exact", "in", "isnull"})

    def __init__(self, *args: Any, secret: bool = False, **kwargs: Any) -> None:
        self.secret = secret
        kwargs.setdefault("blank", True)
        kwargs.setdefault("default", "")
        super().__init__(*args, **kwargs)

    def get_lookup(self, lookup_name: str) -> Any:
        if lookup_name not in self._ALLOWED_LOOKUPS:
            return None  # Django raises FieldError "Unsupported lookup"
        return super().get_lookup(lookup_name)

    def from_db_value(self, value: str | None, expression: Any, connection: Any) -> str:
        return Sealed(value) if value else ""

    def pre_save(self, model_instance: models.Model, add: bool) -> str:
        value = model_instance.__dict__.get(self.attname, "")
        if isinstance(value, Sealed) or not value:
            return str(value or "")
        cached = model_instance.__dict__.get(_cache_name(self.attname))
        if cached and cached[0] == value:
            return str(cached[1])
        sealed = crypto.encrypt(str(value), row_aad(model_instance, self.name))
        model_instance.__dict__[_cache_name(self.attname)] = (str(value), Sealed(sealed))
        return sealed

    def value_to_string(self, obj: Any) -> str:
        """Serializers (``dumpdata``) write the ciphertext, never the plaintext; it opens again in the
        same row because the ``uid`` travels with it."""
        value = obj.__dict__.get(self.attname, "")
        if isinstance(value, Sealed) or not value:
            return str(value or "")
        cached = obj.__dict__.get(_cache_name(self.attname))
        if cached and cached[0] == value:
            return str(cached[1])
        return crypto.encrypt(str(value), row_aad(obj, self.name))

    def to_python(self, value: Any) -> Any:
        # A ciphertext coming back from a serializer stays sealed instead of being encrypted twice.
        if crypto.is_ciphertext(value) and not isinstance(value, Sealed):
            return Sealed(value)
        return super().to_python(value)

    def get_prep_value(self, value: Any) -> Any:
        value = super().get_prep_value(value)
        if value and not crypto.is_ciphertext(value):
            raise TypeError(
                "encrypted fields cannot be queried or bulk-written with plaintext; "
                "use the blind index to find rows and save() to write them"
            )
        return value


class BlindIndexField(models.CharField):
    """HMAC-SM3 of another field's normalized plaintext, for exact-match lookups."""

    def __init__(self, *args: Any, source: str = "", purpose: str = "", **kwargs: Any) -> None:
        self.source = source
        self.purpose = purpose or source
        kwargs.setdefault("max_length", 64)
        kwargs.setdefault("blank", True)
        kwargs.setdefault("default", "")
        kwargs.setdefault("db_index", True)
        kwargs.setdefault("editable", False)
        self.indexed = bool(kwargs["db_index"])
        super().__init__(*args, **kwargs)

    def deconstruct(self) -> Any:
        name, path, args, kwargs = super().deconstruct()
        kwargs["source"] = self.source
        kwargs["purpose"] = self.purpose
        # db_index defaults to True here (not Django's False): an explicit False must survive.
        kwargs["db_index"] = self.indexed
        return name, path, args, kwargs

    def pre_save(self, model_instance: models.Model, add: bool) -> str:
        data = model_instance.__dict__
        if self.source not in data:  # source deferred and never loaded: it cannot have changed
            return str(data.get(self.attname, ""))
        raw = data[self.source]
        if isinstance(raw, Sealed):  # unchanged since loading: the stored index is still right
            return str(data.get(self.attname, ""))
        value = crypto.blind_index(str(raw), self.purpose) if raw else ""
        setattr(model_instance, self.attname, value)
        return value


class EncryptedModel(models.Model):
    """Base for models holding encrypted fields: ``uid`` binds each ciphertext to its row."""

    uid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)

    class Meta:
        abstract = True

    def save(self, *args: Any, **kwargs: Any) -> None:
        update_fields: Iterable[str] | None = kwargs.get("update_fields")
        if update_fields is not None:
            # Saving a source field alone would leave its blind index stale.
            names = set(update_fields)
            for index in blind_index_fields(type(self)):
                if index.source in names:
                    names.add(index.name)
            kwargs["update_fields"] = names
        super().save(*args, **kwargs)


def encrypted_fields(model: type[models.Model]) -> list[EncryptedTextField]:
    return [f for f in model._meta.get_fields() if isinstance(f, EncryptedTextField)]


def blind_index_fields(model: type[models.Model]) -> list[BlindIndexField]:
    return [f for f in model._meta.get_fields() if isinstance(f, BlindIndexField)]
