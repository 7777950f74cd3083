"""Static files: the front-end package files pages load, and collecting them when their sources
changed.

The web server serves static files from ``STATIC_ROOT``, collected by WhiteNoise's manifest storage:
each file under a name carrying a hash of its content (``shequ.3f2a….css``), cached a year as
immutable, with gzip and brotli copies made once at collection. ``shequ serve`` (and so ``shequ
demo``) collects them at start when any source file changed, so the demo serves them as production
does without a separate step.
"""

from __future__ import annotations

import builtins
import fcntl
import hashlib
import logging
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.staticfiles import finders
from django.contrib.staticfiles.finders import BaseFinder
from django.contrib.staticfiles.storage import ManifestFilesMixin, staticfiles_storage
from django.core.checks import CheckMessage
from django.core.checks import Warning as CheckWarning
from django.core.files.storage import FileSystemStorage
from django.core.management import call_command
from django.utils.module_loading import import_string
from whitenoise.compress import Compressor
from whitenoise.storage import CompressedManifestStaticFilesStorage

logger = logging.getLogger(__name__)
VENDOR_PREFIX = "vendor"
IGNORE_PATTERNS = ["CVS", ".*", "*~"]  # collectstatic's defaults
ONE_YEAR = 365 * 24 * 3600


class VendorFinder(BaseFinder):
    """Finds the files of ``settings.STATIC_VENDOR_FILES`` (glob patterns under node_modules) at
    ``vendor/<path>``: only what pages load is served and collected, not node_modules' ~1,800 files."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.root = Path(settings.BASE_DIR) / "node_modules"
        self.storage = FileSystemStorage(location=self.root)
        self.storage.prefix = VENDOR_PREFIX  # type: ignore[attr-defined]  # read by collectstatic and WhiteNoise

    def files(self) -> builtins.list[str]:
        found: set[str] = set()
        for pattern in settings.STATIC_VENDOR_FILES:
            found.update(p.relative_to(self.root).as_posix() for p in self.root.glob(pattern) if p.is_file())
        return sorted(found)

    def find(self, path: str, find_all: bool = False, **kwargs: Any) -> Any:
        find_all = find_all or bool(kwargs.get("all"))  # Django 5.2 renamed all= to find_all=
        name = path[len(VENDOR_PREFIX) + 1 :] if path.startswith(VENDOR_PREFIX + "/") else None
        if name is not None and name in self.files():
            match = str(self.root / name)
            return [match] if find_all else match
        return []  # what Django's own finders answer for "not here"

    def list(self, ignore_patterns: Any) -> Iterator[tuple[str, FileSystemStorage]]:
        for name in self.files():
            yield name, self.storage

    def check(self, **kwargs: Any) -> builtins.list[CheckMessage]:
        missing = [p for p in settings.STATIC_VENDOR_FILES if not any(self.root.glob(p))]
        if not missing:
            return []
        return [
            CheckWarning(
                f"front-end package files not found under {self.root}: {', '.join(missing)}",
                hint="Run `npm ci` (make setup does).",
                id="shequ.W001",
            )
        ]


class StaticStorage(CompressedManifestStaticFilesStorage):
    """WhiteNoise's manifest storage, compressing only the fingerprinted copies (the ones pages
    link; plain names stay served, uncompressed and briefly cached) and no source maps: that
    halves the brotli work of a collection (~1 MB/s at its best ratio)."""

    _warned = False

    def stored_name(self, name: str) -> str:
        # A process started without a collection (not by `shequ serve`: another WSGI server, a
        # command) links plain names, which WhiteNoise serves from the sources, and says so once.
        if not name.strip("/"):  # static(""): the prefix itself (the service worker's scope of files)
            return name
        if not self.hashed_files:
            if not StaticStorage._warned:
                StaticStorage._warned = True
                logger.warning(
                    "static files are not collected in %s: pages link plain names, uncompressed and "
                    "cached a minute (`shequ serve` collects them at start; or `shequ collectstatic`)",
                    self.location,
                )
            return name
        return str(super().stored_name(name))

    def create_compressor(self, **kwargs: Any) -> Compressor:
        kwargs["extensions"] = (*Compressor.SKIP_COMPRESS_EXTENSIONS, "map")
        return Compressor(**kwargs)

    def compress_files(self, paths: Any) -> Any:
        hashed = set(self.hashed_files.values())
        return super().compress_files([p for p in paths if p in hashed])


def add_headers(headers: Any, path: str, url: str) -> None:
    """WhiteNoise's extra headers: fingerprinted files a year (immutable: a browser does not even
    revalidate them), /favicon.ico a day (it has no fingerprint)."""
    if "immutable" in headers.get("Cache-Control", ""):
        headers["Cache-Control"] = f"max-age={ONE_YEAR}, public, immutable"
    elif url == "/favicon.ico":
        headers["Cache-Control"] = "max-age=86400, public"


def collected() -> bool:
    """Whether pages link collected, fingerprinted files (not with SHEQU_DEBUG=1, nor in tests)."""
    backend = import_string(settings.STORAGES["staticfiles"]["BACKEND"])
    return not settings.DEBUG and issubclass(backend, ManifestFilesMixin)


def sources_digest() -> str:
    """A digest of every source file's path, size and modification time, and of what changes the
    collected result (storage, URL prefix, whether brotli copies can be made)."""
    try:
        import brotli  # noqa: F401

        with_brotli = True
    except ImportError:
        with_brotli = False
    lines = [f"{settings.STORAGES['staticfiles']['BACKEND']} {settings.STATIC_URL} brotli={with_brotli}"]
    for finder in finders.get_finders():
        for path, storage in finder.list(IGNORE_PATTERNS):
            stat = os.stat(storage.path(path))
            prefix = getattr(storage, "prefix", None) or ""
            lines.append(f"{prefix}/{path} {stat.st_size} {stat.st_mtime_ns}")
    return hashlib.sha256("\n".join(sorted(lines)).encode()).hexdigest()


def collect_if_stale() -> bool:
    """Collect (copy, fingerprint, compress) the static files into STATIC_ROOT unless the sources
    are those of the last collection. True when it collected. Several servers starting at once
    take turns (a file lock); old fingerprinted files stay, so a server still running on the
    previous manifest keeps serving its pages' files."""
    if not collected():
        return False
    root = Path(settings.STATIC_ROOT)
    root.mkdir(parents=True, exist_ok=True)
    stamp = root.parent / f"{root.name}.sources"
    with open(root.parent / f"{root.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        digest = sources_digest()
        manifest = root / getattr(staticfiles_storage, "manifest_name", "staticfiles.json")
        if manifest.exists() and stamp.exists() and stamp.read_text().strip() == digest:
            return False
        call_command("collectstatic", interactive=False, verbosity=0)
        stamp.write_text(digest + "\n")
        return True
