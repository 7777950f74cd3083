"""The request classifier: the corpus, held-out accuracy against the keyword baseline (computed,
never a fixed number), suggestions, the saved model and ``shequ grid retrain``."""

from __future__ import annotations

import csv
import io
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.core.management import call_command
from django.test import override_settings

from shequ.conftest import World
from shequ.grid import classifier
from shequ.grid.catalog import LEAVES
from shequ.grid.models import Category, Source, Ticket

LEAF_CODES = [leaf.code for _main, leaf in LEAVES]


@pytest.fixture(scope="module")
def model() -> classifier.Model:
    return classifier.train(classifier.corpus("train"), version=classifier.corpus_version())


@pytest.fixture
def var_dir(tmp_path: Path) -> Iterator[Path]:
    """A private VAR_DIR and no process model, restored afterwards."""
    classifier.set_model(None)
    with override_settings(VAR_DIR=tmp_path):
        yield tmp_path
    classifier.set_model(None)


# --- The corpus ---------------------------------------------------------------------------------


def _rows() -> list[dict[str, str]]:
    with classifier.CORPUS_PATH.open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def test_corpus_covers_every_seeded_leaf_with_30_rows_and_splits_stratified() -> None:
    rows = _rows()
    assert len(rows) >= 1500
    assert {r["split"] for r in rows} == {"train", "test"}
    assert {r["category"] for r in rows} == set(LEAF_CODES), "labels are exactly the seeded leaves"
    per = Counter(r["category"] for r in rows)
    test = Counter(r["category"] for r in rows if r["split"] == "test")
    for code in LEAF_CODES:
        assert per[code] >= 30, code
        assert 0.15 <= test[code] / per[code] <= 0.25, (code, test[code], per[code])


def test_corpus_has_no_duplicate_texts_and_no_text_in_both_splits() -> None:
    rows = _rows()
    texts = [r["text"].strip() for r in rows]
    assert len(texts) == len(set(texts))
    train = {r["text"] for r in rows if r["split"] == "train"}
    test = {r["text"] for r in rows if r["split"] == "test"}
    assert not train & test
    assert all(8 <= len(t) <= 120 for t in texts)


def test_corpus_reader_rejects_an_unknown_split() -> None:
    with pytest.raises(ValueError, match="unknown split"):
        classifier.corpus("validation")


# --- Accuracy -----------------------------------------------------------------------------------


def test_held_out_accuracy_beats_the_keyword_baseline(model: classifier.Model) -> None:
    test = classifier.corpus("test")
    ours = classifier.evaluate(model, test)
    baseline = classifier.evaluate(classifier.KeywordBaseline(classifier.corpus("train")), test)
    print(
        f"held-out {ours.samples}: model top-1 {ours.top1:.3f} top-3 {ours.top3:.3f}; "
        f"keyword baseline top-1 {baseline.top1:.3f} top-3 {baseline.top3:.3f}"
    )
    assert ours.samples == baseline.samples == len(test)
    assert ours.top1 > baseline.top1
    assert ours.top3 > baseline.top3
    assert ours.top1 <= ours.top3


def test_evaluate_counts_hits_among_the_first_one_and_three() -> None:
    class Fixed:
        def suggest(self, text: str, k: int = 3, *, codes: object = None) -> list[classifier.Suggestion]:
            return [classifier.Suggestion(c, 0.3) for c in ("a", "b", "c")][:k]

    acc = classifier.evaluate(Fixed(), [("x", "a"), ("y", "c"), ("z", "d"), ("w", "b")])
    assert (acc.top1, acc.top3, acc.samples) == (0.25, 0.75, 4)
    with pytest.raises(ValueError):
        classifier.evaluate(Fixed(), [])


# --- Suggestions --------------------------------------------------------------------------------


def test_suggestions_are_ordered_with_confidences_between_0_and_1(model: classifier.Model) -> None:
    texts = ["楼道里有人给电动车充电，电线从窗户拉下来", "小区门口垃圾三天没人收了", "我想问下社保怎么交"]
    for text in texts:
        found = model.suggest(text, k=5)
        assert len(found) == 5
        assert all(0.0 <= s.confidence <= 1.0 for s in found)
        assert [s.confidence for s in found] == sorted((s.confidence for s in found), reverse=True)
        assert len({s.category_code for s in found}) == 5
        assert all(s.category_code in LEAF_CODES for s in found)
    assert model.suggest("小区门口垃圾三天没人收了", k=1)[0].category_code == "environment.garbage"


def test_empty_and_meaningless_text_gets_no_suggestion(model: classifier.Model) -> None:
    assert model.suggest("") == []
    assert model.suggest("   \n ") == []
    assert model.suggest("。。。！！？？") == []
    with pytest.raises(ValueError):
        model.suggest("停水了", k=0)


def test_suggestions_keep_to_the_codes_the_caller_allows(model: classifier.Model) -> None:
    text = "楼上漏水把我家天花板泡坏了，找他也不理"
    best = model.suggest(text, k=3)
    # The best category was switched off (or renamed away) in the database: it is skipped, the
    # others keep their own confidences, and unknown codes in the list do no harm.
    allowed = [c for c in LEAF_CODES if c != best[0].category_code] + ["renamed.code"]
    filtered = model.suggest(text, k=2, codes=allowed)
    assert [s.category_code for s in filtered] == [s.category_code for s in best[1:3]]
    assert [s.confidence for s in filtered] == [s.confidence for s in best[1:3]]
    assert model.suggest(text, codes=[]) == []


def test_keyword_baseline_ranks_keyword_hits_first() -> None:
    baseline = classifier.KeywordBaseline(classifier.corpus("train"))
    assert baseline.suggest("小区里的路灯和井盖都坏了")[0].category_code == "cityscape.facilities"
    # No keyword: the most common categories of the training data.
    assert baseline.suggest("嗯嗯")[0].category_code == "environment.garbage"
    assert baseline.suggest("") == []


def test_training_needs_two_categories() -> None:
    with pytest.raises(ValueError, match="two categories"):
        classifier.train([("停水了", "livelihood.water"), ("又停水了", "livelihood.water")])


# --- The saved model ----------------------------------------------------------------------------


def test_saved_model_loads_with_its_version_and_refuses_stale_or_damaged_files(
    model: classifier.Model, tmp_path: Path
) -> None:
    path = model.save(tmp_path / "m.joblib")
    loaded = classifier.Model.load(path, version=model.version)
    assert loaded is not None
    text = "燃气费这个月怎么这么贵"
    assert loaded.suggest(text) == model.suggest(text)
    assert classifier.Model.load(path, version="another-corpus") is None
    path.write_bytes(b"not a joblib file")
    assert classifier.Model.load(path) is None
    assert classifier.Model.load(tmp_path / "missing.joblib") is None


def test_process_model_trains_from_the_corpus_once_then_loads_the_saved_file(
    var_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = classifier.get_model()
    assert first.samples == len(classifier.corpus("train"))
    assert first.version == classifier.corpus_version()
    assert (var_dir / classifier.MODEL_FILENAME).exists()
    assert classifier.get_model() is first  # loaded once per process

    classifier.set_model(None)

    def no_training(*args: object, **kwargs: object) -> classifier.Model:
        raise AssertionError("the saved model should have been loaded")

    monkeypatch.setattr(classifier, "train", no_training)
    again = classifier.get_model()
    assert again is not first and again.version == first.version
    assert classifier.suggest("停水两天了") == first.suggest("停水两天了")


# --- Retraining with staff corrections ------------------------------------------------------------


def _confirmed(world: World, title: str, description: str, code: str) -> Ticket:
    region = world.regions["430104002001001"]
    return Ticket.objects.create(
        source=Source.STAFF,
        title=title,
        description=description,
        category=Category.objects.get(code=code),
        category_confirmed_by=world["worker_a"],
        region=region,
        region_code=region.code,
        supervision_code="430104002001",
    )


@pytest.mark.django_db
def test_retrain_learns_staff_corrections(world: World, var_dir: Path, model: classifier.Model) -> None:
    text = "小区里好几台无人机晚上在楼栋之间飞来飞去，对着住户窗户拍"
    before = model.suggest(text, k=1)[0].category_code
    target = "security.technical" if before != "security.technical" else "security.physical"
    # Staff corrected four such reports to the target category.
    for title, description in [
        ("无人机对着窗户拍", "晚上有无人机在楼栋之间飞，对着住户的窗户拍"),
        ("楼下有人放无人机", "每天晚上都有无人机在小区里飞来飞去"),
        ("无人机偷拍", "一台无人机停在我家窗户外面拍了好久"),
        ("小区上空无人机", "小区里经常有无人机低空飞，住户担心被拍"),
    ]:
        _confirmed(world, title, description, target)
    # An unconfirmed ticket is not training data.
    Ticket.objects.create(
        source=Source.RESIDENT,
        title="无人机",
        description="无人机又来了",
        category=Category.objects.get(code="other.other"),
        region=world.regions["430104002001001"],
        region_code="430104002001001",
        supervision_code="430104002001",
    )

    out = io.StringIO()
    call_command("grid", "retrain", stdout=out)
    report = out.getvalue()
    corpus_train = len(classifier.corpus("train"))
    expected = f"samples: {corpus_train + 4} ({corpus_train} corpus train texts, 4 staff-confirmed tickets)"
    assert expected in report
    assert "held-out corpus test split (362 texts): top-1 " in report
    assert (var_dir / classifier.MODEL_FILENAME).exists()

    after = classifier.suggest(text, k=1)[0].category_code
    assert after == target != before
    saved = classifier.Model.load(version=classifier.corpus_version())
    assert saved is not None and saved.extra_samples == 4
    from shequ.core.models import AuditEntry

    entry = AuditEntry.objects.get(action="grid.retrain")
    assert entry.detail["tickets"] == 4 and entry.detail["saved"] is True
    assert saved.suggest(text, k=1)[0].category_code == target


@pytest.mark.django_db
def test_retrain_dry_run_saves_nothing(world: World, var_dir: Path) -> None:
    out = io.StringIO()
    call_command("grid", "retrain", "--dry-run", stdout=out)
    assert "0 staff-confirmed tickets" in out.getvalue()
    assert "not saved" in out.getvalue()
    assert not (var_dir / classifier.MODEL_FILENAME).exists()
