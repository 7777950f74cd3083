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


class ProcessModel(Generic[M]):
    """The one model of a process: the saved file if it fits this code and data, else trained now
    (and saved for the next process), built once even when several threads ask at the same moment."""

    def __init__(
        self, *, name: str, load: Callable[[], M | None], train: Callable[[], M], save: Callable[[M], Path]
    ) -> None:
        self.name = name
        self._load, self._train, self._save = load, train, save
        self._model: M | None = None
        self._lock = threading.Lock()

    def get(self) -> M:
        model = self._model
        if model is None:
            with self._lock:
                model = self._model
                if model is None:
                    model = self._load()
                    if model is None:
                        started = time.perf_counter()
                        model = self._train()
                        logger.info("%s trained in %.1f s", self.name, time.perf_counter() - started)
                        try:
                            self._save(model)
                        except OSError:
                            logger.warning("%s: cannot save the model", self.name, exc_info=True)
                    self._model = model
        return model

    def set(self, model: M | None) -> None:
        """Replace the process's model (after a retrain), or forget it so that the next use loads."""
        with self._lock:
            self._model = model
