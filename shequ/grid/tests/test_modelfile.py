"""A retrain reaches running processes: a process's model is loaded again when its file was
replaced (by ``shequ grid retrain`` in another process), looked at once per ``recheck`` seconds."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from shequ.conftest import World
from shequ.core import outbox
from shequ.grid import lifesafety as ls
from shequ.grid import modelfile, services
from shequ.grid.models import Source, UrgentAlert
from shequ.grid.tests.conftest import GRID_A


def text_model(path: Path, *, recheck: float) -> modelfile.ProcessModel[str]:
    """A stand-in model: the file's text (a file without "ok" does not fit this code)."""

    def load() -> str | None:
        if not path.exists():
            return None
        text = path.read_text()
        return text if text.startswith("ok") else None

    def save(model: str) -> Path:
        path.write_text(model)
        return path

    return modelfile.ProcessModel(
        name="test", load=load, train=lambda: "ok trained", save=save, path=lambda: path, recheck=recheck
    )


def replace(path: Path, text: str) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(text)
    tmp.replace(path)  # as modelfile.save does: a new file renamed over the old


def test_a_replaced_file_is_loaded_again_at_most_once_per_recheck(tmp_path: Path) -> None:
    path = tmp_path / "m.txt"
    replace(path, "ok 1")
    web = text_model(path, recheck=3600)
    assert web.get() == "ok 1"
    replace(path, "ok 2")
    assert web.get() == "ok 1"  # looked at within the hour: not yet
    web.recheck = 0
    assert web.get() == "ok 2"
    # A replaced file that does not fit (another scikit-learn, damaged) is ignored, not trained over.
    replace(path, "broken")
    assert web.get() == "ok 2"
    replace(path, "ok 3")
    assert web.get() == "ok 3"
    # A process's own retrain (``set``) is not read back from the file it just wrote.
    web.set("ok 4 in memory")
    assert web.get() == "ok 4 in memory"


def test_a_cleared_alarm_is_in_the_retrained_model_that_a_running_process_picks_up(
    world: World, tmp_path: Path, settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings.VAR_DIR = str(tmp_path)
    # The test process's own model stays as it was for the other tests.
    for attr in ("_model", "_mtime", "_checked"):
        monkeypatch.setattr(ls._process, attr, getattr(ls._process, attr))
    # A running web process, built like lifesafety's, holding the model it loaded before.
    before = ls.get_model()
    web: modelfile.ProcessModel[ls.Model] = modelfile.ProcessModel(
        name="web",
        load=lambda: ls.Model.load(version=ls.data_version()),
        train=ls.get_model,
        save=lambda m: m.save(),
        path=ls.model_path,
        recheck=0,
    )
    web.set(before)
    assert web.get() is before
    # Staff clear a false alarm …
    ticket = services.ticket_submit(
        actor=world["grid_a"],
        source=Source.PATROL,
        region=world.regions[GRID_A],
        title="煤气",
        description="楼道里好大的煤气味，快来人",
    )
    outbox.run_pending()
    services.alert_clear(
        actor=world["head_a"], alert=UrgentAlert.objects.get(ticket=ticket), reason="是煮中药的味道"
    )
    # … ``shequ grid retrain`` trains on it and saves …
    result = ls.retrain(save=True)
    assert result.ticket_samples == 1 and result.path == ls.model_path()
    # … and the running process uses the new model without a restart.
    fresh = web.get()
    assert fresh is not before and fresh.ticket_samples == 1
    assert ls.detect("楼道里好大的煤气味，快来人", model=fresh).urgent  # still a detector
    # The lifesafety module's own process model looks at its file too.
    assert ls._process._path is ls.model_path
