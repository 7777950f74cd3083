"""Model fields for personal data: plaintext in Python, SM4-GCM ciphertext in the database."""

from __future__ import annotations

import uuid
from typing import Any

from django.db import models

from shequ.core import crypto


class Sealed(str):
    """A ciphertext as loaded from the database, not yet decrypted."""

    __slots__ = ()


def row_aad(instance: models.Model, field_name: str) -> str:
    uid = getattr(instance, "uid", None)
    if uid is None:
        raise TypeError(f"{type(instance).__name__} needs a uid field to hold encrypted fields")
    return f"{instance._meta.label_lower}.{field_name}:{uid}"


class _EncryptedDescriptor:
    def __init__(self, field: EncryptedTextField) -> None:
        self.field = field

    def __get__(self, instance: models.Model | None, owner: type | None = None) -> Any:
        if instance is None:
            return self
        value = instance.__dict__.get(self.field.attname, "")
        if isinstance(value, Sealed):
            plain = crypto.decrypt(value, row_aad(instance, self.field.name))
            instance.__dict__[self.field.attname] = plain
            # Keep the stored ciphertext so an unchanged value is not re-encrypted on save.
            instance.__dict__[f"_sealed_{self.field.attname}"] = (plain, value)
            return plain
        return value

    def __set__(self, instance: models.Model, value: Any) -> None:
        instance.__dict__[self.field.attname] = "" if value is None else value


class EncryptedTextField(models.TextField):
    """Stores SM4-GCM ciphertext bound to the row (``uid``) and column. Not searchable: pair it
    with a :class:`BlindIndexField` for exact lookups."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("blank", True)
        kwargs.setdefault("default", "")
        super().__init__(*args, **kwargs)

    def contribute_to_class(self, cls: type[models.Model], name: str, *args: Any, **kwargs: Any) -> None:
        super().contribute_to_class(cls, name, *args, **kwargs)
        setattr(cls, self.attname, _EncryptedDescriptor(self))

    def from_db_value(self, value: str | None, expression: Any, connection: Any) -> str:
        return Sealed(value) if value else ""

    def pre_save(self, model_instance: models.Model, add: bool) -> str:
        value = model_instance.__dict__.get(self.attname, "")
        if isinstance(value, Sealed) or not value:
            return str(value or "")
        cached = model_instance.__dict__.get(f"_sealed_{self.attname}")
        if cached and cached[0] == value:
            return str(cached[1])
        return crypto.encrypt(str(value), row_aad(model_instance, self.name))

    def get_prep_value(self, value: Any) -> Any:
        value = super().get_prep_value(value)
        if value and not str(value).startswith(crypto.PREFIX + ":"):
            raise TypeError("encrypted fields cannot be queried or bulk-written with plaintext; use the blind index")
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
        super().__init__(*args, **kwargs)

    def deconstruct(self) -> Any:
        name, path, args, kwargs = super().deconstruct()
        kwargs["source"] = self.source
        kwargs["purpose"] = self.purpose
        return name, path, args, kwargs

    def pre_save(self, model_instance: models.Model, add: bool) -> str:
        raw = model_instance.__dict__.get(self.source, "")
        if isinstance(raw, Sealed):  # unchanged since loading: the stored index is still right
            return str(getattr(model_instance, self.attname))
        value = crypto.blind_index(str(raw), self.purpose) if raw else ""
        setattr(model_instance, self.attname, value)
        return value


class EncryptedModel(models.Model):
    """Base for models holding encrypted fields: ``uid`` binds each ciphertext to its row."""

    uid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)

    class Meta:
        abstract = True


def encrypted_fields(model: type[models.Model]) -> list[EncryptedTextField]:
    return [f for f in model._meta.get_fields() if isinstance(f, EncryptedTextField)]
