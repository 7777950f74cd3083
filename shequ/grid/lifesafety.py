"""The life-safety detector (生命安全研判): reads a new ticket's text and says whether someone's
life or body is in danger now, whatever category the ticket has, and why.

Two parts, either of which can fire:

* **Rules** for the unmistakable (gas smell, fire or smoke, someone trapped, a person down, water
  entering homes, live wires, collapse, weapons and violence, a child at a height, an elderly person
  not seen). A rule's match is set aside when its clause negates it ("没有人受伤", "不是着火"), also
  inside the match ("水都没有进屋"), puts it in the past ("上个月漏过气", "上次着火的那栋楼") or in a
  hypothesis or a fear ("担心会着火", "防止触电", "怕哪天电线掉下来"), when the smoke is a barbecue's
  or a kitchen's ("楼下烧烤 烟好大"), when a later clause says the alarm was wrong or the danger is not
  there ("结果是楼下在烧烤", "查了没事", "轿厢里没人") — unless a clause after that says it is back
  ("味道还没散") — or when a later clause says it is over ("火已经灭了", "老人联系上了") — unless the
  alarm's clause says it lasts ("现在又闻到煤气味").
* **A model**: TF-IDF over character 1–3-grams and a linear model with logistic loss that says
  life-safety or ordinary (a second one names the kind), trained on ``data/lifesafety_train.csv``,
  on the ordinary categories of the request corpus's train split, and on what staff decided about
  earlier alarms (cleared false alarms are ordinary, confirmed ones life-safety). Its probability of
  danger fires at ``MODEL_THRESHOLD``; when no rule matched and the text says the danger is not there
  ("没事", "误报", "无人受伤", "万一"), it must reach ``MODEL_THRESHOLD_CALM``; when rules matched and
  every match was set aside, ``MODEL_THRESHOLD_SET_ASIDE`` (``model_threshold``).

The held-out set ``data/lifesafety_eval.csv`` is never trained on: ``bench/bench_lifesafety.py``
measures recall and precision on it.
"""

from __future__ import annotations

import csv
import hashlib
import logging
import re
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from django.conf import settings
from django.db.models import Q
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import SGDClassifier
from sklearn.pipeline import Pipeline

from shequ.grid import modelfile
from shequ.grid.lifesafety_rules import (  # noqa: F401 - the rules' names, read as lifesafety.*
    _CALM,
    _DIGITS,
    _FIRE_ITSELF,
    _HARMLESS_SMOKE,
    _NOT_OVER_AFTER,
    _PAST,
    _PRESENT,
    _RESOLVED,
    _SINCE,
    KINDS,
    ORDINARY,
    RULES,
    Hit,
    Kind,
    clauses,
    normalize,
    rule_hits,
)

logger = logging.getLogger(__name__)

DATA = Path(__file__).resolve().parent / "data"
TRAIN_PATH = DATA / "lifesafety_train.csv"
EVAL_PATH = DATA / "lifesafety_eval.csv"
# A second held-out set (199 texts), written on 2026-12-07 by a writer who saw neither the
# detector nor the other sets, to measure the negation and past-event work done after the first.
FRESH_PATH = DATA / "lifesafety_fresh.csv"
HELD_OUT = (EVAL_PATH, FRESH_PATH)
CORPUS_PATH = DATA / "corpus.csv"
MODEL_FILENAME = "grid-lifesafety.joblib"
# Bump when the rules' meaning, the features or the model change: the stamp retrains saved models.
FORMAT = 5
# Main types of the request corpus whose texts are ordinary requests (the corpus's 安全隐患 and
# 突发事件 texts mix hazards with emergencies and carry no life-safety label, so they are left out).
ORDINARY_MAIN_TYPES = (
    "livelihood",
    "dispute",
    "security",
    "environment",
    "cityscape",
    "special",
    "opinion",
    "other",
)
# Chosen on the training data alone (5-fold cross-validation, see bench/bench_lifesafety.py): the
# model's probability fires at MODEL_THRESHOLD; at MODEL_THRESHOLD_CALM when no rule matched and the
# text says the danger is not there ("没事", "误报"); at MODEL_THRESHOLD_SET_ASIDE when rules matched
# and every match was set aside as negated, past or over ("有人晕倒了，已经送医了": the model reads
# 晕倒 and not 已经送医).
MODEL_THRESHOLD = 0.4
MODEL_THRESHOLD_CALM = 0.9
MODEL_THRESHOLD_SET_ASIDE = 0.95


# --- The model ---------------------------------------------------------------------------------------

Sample = tuple[str, str]  # (text, kind or ORDINARY)


# Who is writing, not what happened: the openings of patrol records and 12345 records. Left in, the
# model learned the voice of the training texts ("网格员巡查发现" read as danger).
_VOICE = re.compile(
    r"网格员?(?:巡查|走访|巡逻)?(?:发现|记录|上报|报)?|来电人?(?:反映|称|诉求)?|诉求|"
    r"居民(?:来电|到服务台|到社区)?(?:称|反映)|群众反映|受理(?:员|编号)|重复反映|某"
)


# Grams that begin or end with a particle or a measure word say nothing to the person reading why.
_FILLER = re.compile(r"^[的了在有是个一里区小某]|[的了在有是个一里某]$")


def features_text(text: str) -> str:
    """What the model reads: letters and numbers (each number as 0), punctuation as spaces, without
    the openings that say who writes."""
    text = _VOICE.sub(" ", normalize(text))
    return "".join(ch if ch.isalnum() else " " for ch in _DIGITS.sub("0", text))


def _pipeline() -> Pipeline:
    features = TfidfVectorizer(
        preprocessor=features_text,
        analyzer="char_wb",
        ngram_range=(1, 3),
        lowercase=False,
        sublinear_tf=True,
        min_df=1,
    )
    # Logistic loss for probabilities; SGD trains in well under a second (lbfgs took 16 s for the
    # same cross-validated quality), so a process without a saved model is ready at once.
    model = SGDClassifier(
        loss="log_loss", alpha=1e-4, max_iter=100, tol=1e-4, random_state=0, class_weight="balanced"
    )
    return Pipeline([("features", features), ("model", model)])


@dataclass
class Model:
    """Two linear models over the same kind of features: ``pipeline`` says life-safety or not (a
    binary model's probability is calibrated where a twelve-way one spreads it thin), ``kinds``
    which danger a life-safety text is about."""

    pipeline: Pipeline
    kinds: Pipeline
    version: str
    samples: int
    ticket_samples: int = 0
    train_seconds: float = 0.0
    trained_at: float = field(default_factory=time.time)

    def life_probability(self, texts: Sequence[str]) -> list[tuple[float, str]]:
        """Per text: the probability that it reports a danger to life, and the most likely kind."""
        if not texts:
            return []
        life = self.pipeline.predict_proba(list(texts))[:, list(self.pipeline.classes_).index(True)]
        kinds = self.kinds.predict(list(texts))
        return [(float(p), str(k)) for p, k in zip(life, kinds, strict=True)]

    def top_phrases(self, text: str, n: int = 3) -> list[str]:
        """The character n-grams of the text that weigh most towards danger: what the model "read"
        in it (words of two or three characters, without numbers)."""
        features = self.pipeline.named_steps["features"]
        model = self.pipeline.named_steps["model"]
        row = features.transform([text])
        sign = 1.0 if bool(self.pipeline.classes_[1]) else -1.0
        weights = model.coef_[0] * sign
        names = self._names()
        scored = sorted(
            ((float(row[0, j]) * float(weights[j]), str(names[j])) for j in row.nonzero()[1]),
            reverse=True,
        )
        chosen: list[str] = []
        for score, name in scored:
            if score <= 0 or len(name) < 2 or " " in name or "0" in name or _FILLER.search(name):
                continue
            if any(name in c for c in chosen):
                continue
            chosen = [c for c in chosen if c not in name] + [name]
            if len(chosen) == n:
                break
        return chosen

    def _names(self) -> np.ndarray:
        # Built once per process: the vocabulary's names are a large array.
        names = self.__dict__.get("_feature_names")
        if names is None:
            names = self.pipeline.named_steps["features"].get_feature_names_out()
            self.__dict__["_feature_names"] = names
        return names

    def save(self, path: Path | None = None) -> Path:
        """Write atomically (``modelfile.save``)."""
        return modelfile.save(self, path or model_path(), fmt=FORMAT)

    @classmethod
    def load(cls, path: Path | None = None, *, version: str | None = None) -> Model | None:
        """The saved model, if it fits this code and (with ``version``) this data (``modelfile.load``)."""
        return modelfile.load(path or model_path(), cls, fmt=FORMAT, version=version)


def model_path() -> Path:
    return Path(settings.VAR_DIR) / MODEL_FILENAME


def labelled(path: Path) -> list[Sample]:
    """(text, kind or "ordinary") rows of a labelled file (``text,label,kind``)."""
    with path.open(encoding="utf-8", newline="") as f:
        return [
            (row["text"], row["kind"] if row["label"] == "life" else ORDINARY)
            for row in csv.DictReader(f)
            if row["text"].strip()
        ]


def ordinary_corpus(split: str) -> list[Sample]:
    """The request corpus's texts of the ordinary main types, labelled ordinary."""
    with CORPUS_PATH.open(encoding="utf-8", newline="") as f:
        return [
            (row["text"], ORDINARY)
            for row in csv.DictReader(f)
            if row["split"] == split and row["category"].split(".")[0] in ORDINARY_MAIN_TYPES
        ]


def base_samples() -> list[Sample]:
    return [*labelled(TRAIN_PATH), *ordinary_corpus("train")]


def data_version() -> str:
    digest = hashlib.sha256(TRAIN_PATH.read_bytes())
    digest.update(CORPUS_PATH.read_bytes())
    digest.update(f"|format={FORMAT}".encode())
    return digest.hexdigest()[:16]


def train(samples: Iterable[Sample], *, version: str = "", ticket_samples: int = 0) -> Model:
    pairs = [(t, k) for t, k in samples if isinstance(t, str) and normalize(t) and k]
    life = [(t, k) for t, k in pairs if k != ORDINARY]
    if len(life) == len(pairs) or len({k for _t, k in life}) < 2:
        raise ValueError("training needs ordinary texts and life-safety texts of several kinds")
    started = time.perf_counter()
    pipeline = _pipeline()
    pipeline.fit([t for t, _k in pairs], [k != ORDINARY for _t, k in pairs])
    kinds = _pipeline()
    kinds.fit([t for t, _k in life], [k for _t, k in life])
    return Model(
        pipeline=pipeline,
        kinds=kinds,
        version=version,
        samples=len(pairs),
        ticket_samples=ticket_samples,
        train_seconds=time.perf_counter() - started,
    )


def ticket_samples() -> list[Sample]:
    """What staff decided about earlier alarms: a cleared false alarm is an ordinary text; an alarm
    acknowledged and never cleared, on a ticket now finished, is a life-safety text of its kind."""
    from shequ.grid.models import FINAL_STATUSES, AlertState, UrgentAlert

    rows = (
        UrgentAlert.objects.filter(life_safety=True)
        .filter(
            Q(state=AlertState.CLEARED) | Q(state=AlertState.ACKNOWLEDGED, ticket__status__in=FINAL_STATUSES)
        )
        .order_by("pk")
        .values_list("ticket__title", "ticket__description", "state", "kind")
    )
    return [
        (f"{title}\n{description}", ORDINARY if state == AlertState.CLEARED else (kind or "other"))
        for title, description, state, kind in rows.iterator(chunk_size=2000)
    ]


@dataclass(frozen=True)
class RetrainResult:
    model: Model
    base_samples: int
    ticket_samples: int
    path: Path | None


def retrain(*, save: bool = True, path: Path | None = None) -> RetrainResult:
    """Train on the shipped data plus staff's decisions on earlier alarms, save, and use it."""
    base = base_samples()
    extra = ticket_samples()
    model = train([*base, *extra], version=data_version(), ticket_samples=len(extra))
    saved = model.save(path) if save else None
    set_model(model)
    return RetrainResult(model=model, base_samples=len(base), ticket_samples=len(extra), path=saved)


_process: modelfile.ProcessModel[Model] = modelfile.ProcessModel(
    name="life-safety model",
    load=lambda: Model.load(version=data_version()),
    train=lambda: train(base_samples(), version=data_version()),
    save=lambda model: model.save(),
    path=model_path,
)


def get_model() -> Model:
    """The saved model if it matches the shipped data, else one trained now (and saved)."""
    return _process.get()


def set_model(model: Model | None) -> None:
    _process.set(model)


# --- Detection ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Triage:
    urgent: bool
    kind: str  # the main kind when urgent, else ""
    hits: tuple[Hit, ...]  # what fired
    set_aside: tuple[Hit, ...]  # rule matches that did not count, and why
    probability: float | None  # the model's probability of danger (None without a model)

    def reasons(self) -> list[dict[str, Any]]:
        return [h.as_dict() for h in (*self.hits, *self.set_aside)]


NOT_URGENT = Triage(urgent=False, kind="", hits=(), set_aside=(), probability=None)


def model_threshold(
    text: str,
    hits: Sequence[Hit],
    *,
    base: float = MODEL_THRESHOLD,
    calm: float = MODEL_THRESHOLD_CALM,
    set_aside: float = MODEL_THRESHOLD_SET_ASIDE,
) -> float:
    """The probability the model must reach for this text, given the rules' matches (``hits``)."""
    if any(not h.set_aside for h in hits):
        return base  # a rule fires anyway
    if hits:
        return set_aside
    norm = normalize(text)
    if _CALM.search(norm) or _RESOLVED.search(norm):
        return calm
    # An event told in the past, with nothing that says it lasts ("从昨天起就联系不上" lasts).
    if (
        _PAST.search(norm)
        and not _PRESENT.search(norm)
        and not _NOT_OVER_AFTER.search(norm)
        and not _SINCE.search(norm)
    ):
        return calm
    # Smoke from a kitchen or a barbecue, with no word of a fire.
    if _HARMLESS_SMOKE.search(norm) and not _FIRE_ITSELF.search(norm):
        return calm
    return base


def detect(text: str, *, model: Model | None = None, use_model: bool = True) -> Triage:
    """Whether ``text`` reports a present danger to life, with the reasons. Never raises for a model
    problem: the rules alone then decide (and it is logged)."""
    if not normalize(text):
        return NOT_URGENT
    hits = rule_hits(text)
    active = [h for h in hits if not h.set_aside]
    aside = [h for h in hits if h.set_aside]
    probability: float | None = None
    model_hit: Hit | None = None
    if use_model:
        try:
            used = model or get_model()
            probability, kind = used.life_probability([text])[0]
            if probability >= model_threshold(text, hits):
                phrases = used.top_phrases(text)
                model_hit = Hit(kind=kind, phrase=" · ".join(phrases), by="model", score=probability)
        except Exception:  # the rules still stand; the model's failure must not stop a report
            logger.warning("life-safety model failed", exc_info=True)
    fired = [*active, *([model_hit] if model_hit else [])]
    if not fired:
        return Triage(urgent=False, kind="", hits=(), set_aside=tuple(aside), probability=probability)
    kind = active[0].kind if active else fired[0].kind
    return Triage(urgent=True, kind=kind, hits=tuple(fired), set_aside=tuple(aside), probability=probability)


def detect_many(texts: Sequence[str], *, model: Model | None = None, use_model: bool = True) -> list[Triage]:
    return [detect(t, model=model, use_model=use_model) for t in texts]
