"""Saved models of the grid app (the request classifier, the life-safety detector): written
atomically, so a process loading one never sees half a file, and read back only when they were
written by the same scikit-learn and in the same format, for the same training data."""

from __future__ import annotations

import logging
import os
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, Generic, TypeVar

import joblib
import sklearn

logger = logging.getLogger(__name__)

M = TypeVar("M")


def save(model: Any, path: Path, *, fmt: int) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}-", suffix=".tmp")
    os.close(fd)
    try:
        joblib.dump({"format": fmt, "sklearn": sklearn.__version__, "model": model}, tmp)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return path


def load(path: Path, cls: type[M], *, fmt: int, version: str | None = None) -> M | None:
    """The saved model, or None when there is none, it is damaged, it was written by another
    scikit-learn or format, or (with ``version``) it was trained on other data."""
    if not path.exists():
        return None
    try:
        saved = joblib.load(path)
    except Exception:
        logger.warning("cannot read %s; the model will be retrained", path, exc_info=True)
        return None
    if (
        not isinstance(saved, dict)
        or saved.get("format") != fmt
        or saved.get("sklearn") != sklearn.__version__
        or not isinstance(saved.get("model"), cls)
    ):
        return None
    model: M = saved["model"]
    if version is not None and getattr(model, "version", None) != version:
        return None
    return model


# How often a process looks whether its model's file was replaced (``shequ grid retrain`` run in
# another process): one ``stat`` per this many seconds at most, so a retrain reaches the web and
# worker processes within it, without a restart.
RECHECK_SECONDS = 60.0


def _stamp(path: Path) -> tuple[int, int] | None:
    """What tells a replaced file: its modification time and its inode (``save`` writes a new file
    and renames it over the old one, so even two saves within one tick of the clock differ)."""
    try:
        st = path.stat()
    except OSError:
        return None
    return (st.st_mtime_ns, st.st_ino)


class ProcessModel(Generic[M]):
    """The one model of a process: the saved file if it fits this code and data, else trained now
    (and saved for the next process), built once even when several threads ask at the same moment.
    With ``path``, a file replaced since it was loaded (a retrain elsewhere) is loaded again, looked
    at no more than once per ``recheck`` seconds; a new file that does not fit is ignored."""

    def __init__(
        self,
        *,
        name: str,
        load: Callable[[], M | None],
        train: Callable[[], M],
        save: Callable[[M], Path],
        path: Callable[[], Path] | None = None,
        recheck: float = RECHECK_SECONDS,
    ) -> None:
        self.name = name
        self._load, self._train, self._save, self._path = load, train, save, path
        self.recheck = recheck
        self._model: M | None = None
        self._mtime: tuple[int, int] | None = None  # of the file the model came from (or was saved to)
        self._checked = 0.0  # monotonic time of the last look at the file
        self._lock = threading.Lock()

    def _file_mtime(self) -> tuple[int, int] | None:
        return _stamp(self._path()) if self._path is not None else None

    def get(self) -> M:
        model = self._model
        if model is not None and self._path is not None:
            model = self._reload_if_replaced(model)
        if model is None:
            with self._lock:
                model = self._model
                if model is None:
                    mtime = self._file_mtime()
                    model = self._load()
                    if model is None:
                        started = time.perf_counter()
                        model = self._train()
                        logger.info("%s trained in %.1f s", self.name, time.perf_counter() - started)
                        try:
                            self._save(model)
                        except OSError:
                            logger.warning("%s: cannot save the model", self.name, exc_info=True)
                        mtime = self._file_mtime()
                    self._model, self._mtime, self._checked = model, mtime, time.monotonic()
        return model

    def _reload_if_replaced(self, model: M) -> M:
        now = time.monotonic()
        if now - self._checked < self.recheck:
            return model
        with self._lock:
            if now - self._checked < self.recheck or self._model is None:
                return self._model or model
            self._checked = now
            mtime = self._file_mtime()
            if mtime is None or mtime == self._mtime:
                return self._model
            fresh = self._load()
            self._mtime = mtime  # a file that does not fit is not read again until it changes
            if fresh is None:
                logger.warning("%s: the replaced model file does not fit; keeping the loaded one", self.name)
                return self._model
            logger.info("%s: reloaded the replaced model file", self.name)
            self._model = fresh
            return fresh

    def set(self, model: M | None) -> None:
        """Replace the process's model (after a retrain), or forget it so that the next use loads."""
        with self._lock:
            self._model = model
            self._mtime = self._file_mtime() if model is not None else None
            self._checked = time.monotonic()
