"""The request classifier (智能分拨): suggests leaf categories for a request's text, with a confidence.

Features are TF-IDF over jieba words and over character unigrams and bigrams (requests are short,
colloquial and full of typos, and single characters such as 漏/噪/燃 carry much of the signal);
the model is a linear classifier with logistic loss, so its scores are probabilities. It trains
in seconds on the shipped corpus (``data/corpus.csv``, see ``data/README.md``); staff-confirmed
tickets are added by ``shequ grid retrain``.

The trained model is kept in ``VAR_DIR/grid-classifier.joblib`` with a version stamp of the corpus
file, the seeded leaf codes and the feature format. ``get_model()`` loads it once per process, and
trains from the corpus's train split when there is no file or its stamp is stale — the held-out
split is never trained on, so the numbers ``evaluate`` gives on it describe the deployed model.
"""

from __future__ import annotations

import csv
import hashlib
import logging
import re
import threading
import time
import unicodedata
from collections import Counter
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import jieba
import numpy as np
from django.conf import settings
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import SGDClassifier
from sklearn.pipeline import FeatureUnion, Pipeline

from shequ.grid import modelfile
from shequ.grid.catalog import LEAVES

logger = logging.getLogger(__name__)

CORPUS_PATH = Path(__file__).resolve().parent / "data" / "corpus.csv"
MODEL_FILENAME = "grid-classifier.joblib"
# Bump when the features or the model change: a saved model of another format is retrained.
FEATURE_FORMAT = 1
SPLITS = ("train", "test")

Sample = tuple[str, str]

# jieba logs "Building prefix dict ..." at DEBUG on its own stream handler; keep it quiet.
jieba.setLogLevel(logging.WARNING)
_tokenizer = jieba.Tokenizer()
_tokenizer_lock = threading.Lock()
_tokenizer_ready = False


def _ensure_tokenizer() -> jieba.Tokenizer:
    """Load jieba's dictionary once, and teach it the catalog's keywords (消防通道, 物业费 …) so that
    they stay one token."""
    global _tokenizer_ready
    if not _tokenizer_ready:
        with _tokenizer_lock:
            if not _tokenizer_ready:
                _tokenizer.initialize()
                for _main, leaf in LEAVES:
                    for word in [leaf.name_zh, *leaf.keywords.split()]:
                        _tokenizer.add_word(word)
                _tokenizer_ready = True
    return _tokenizer


_DIGITS = re.compile(r"\d+")


def normalize(text: str) -> str:
    """Full-width to half-width (NFKC), lower case, every number to 0: 3栋502 and 8栋2单元 are
    places, not signal."""
    return _DIGITS.sub("0", unicodedata.normalize("NFKC", text).lower()).strip()


def words(text: str) -> list[str]:
    """jieba words of a normalized text, without spaces and punctuation."""
    return [w for w in _ensure_tokenizer().lcut(text) if any(ch.isalnum() for ch in w)]


def chars(text: str) -> str:
    """The normalized text for character n-grams: letters and digits only (punctuation varies by
    writer, not by topic)."""
    return "".join(ch if ch.isalnum() else " " for ch in normalize(text))


@dataclass(frozen=True)
class Suggestion:
    category_code: str
    confidence: float


class Suggester(Protocol):
    def suggest(self, text: str, k: int = 3, *, codes: Collection[str] | None = None) -> list[Suggestion]: ...


def _pipeline() -> Pipeline:
    features = FeatureUnion(
        [
            (
                "words",
                TfidfVectorizer(
                    preprocessor=normalize,
                    tokenizer=words,
                    token_pattern=None,
                    lowercase=False,
                    sublinear_tf=True,
                ),
            ),
            (
                "chars",
                TfidfVectorizer(
                    preprocessor=chars,
                    analyzer="char_wb",
                    ngram_range=(1, 2),
                    lowercase=False,
                    sublinear_tf=True,
                ),
            ),
        ]
    )
    # alpha chosen by 5-fold cross-validation on the train split (the test split is never tuned on).
    model = SGDClassifier(loss="log_loss", alpha=1e-4, max_iter=100, tol=1e-4, random_state=0)
    return Pipeline([("features", features), ("model", model)])


@dataclass
class Model:
    """A trained classifier and what it was trained on."""

    pipeline: Pipeline
    version: str
    samples: int
    extra_samples: int = 0
    train_seconds: float = 0.0
    trained_at: float = field(default_factory=time.time)

    @property
    def classes(self) -> list[str]:
        return [str(c) for c in self.pipeline.classes_]

    def _probabilities(self, texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        features = self.pipeline.named_steps["features"].transform(texts)
        proba = self.pipeline.named_steps["model"].predict_proba(features)
        # A text with no known word or character tells the model nothing: no suggestion.
        known = np.asarray(features.getnnz(axis=1) > 0)
        return proba, known

    def suggest(self, text: str, k: int = 3, *, codes: Collection[str] | None = None) -> list[Suggestion]:
        """The ``k`` most likely categories, best first. With ``codes`` (the active leaf codes in the
        database), categories renamed away or switched off are skipped; confidences stay the
        model's own probabilities (not re-normalized over what is left)."""
        return self.suggest_many([text], k, codes=codes)[0]

    def suggest_many(
        self, texts: Sequence[str], k: int = 3, *, codes: Collection[str] | None = None
    ) -> list[list[Suggestion]]:
        if k < 1:
            raise ValueError("k must be at least 1")
        results: list[list[Suggestion]] = [[] for _ in texts]
        todo = [i for i, t in enumerate(texts) if isinstance(t, str) and normalize(t)]
        if not todo:
            return results
        proba, known = self._probabilities([texts[i] for i in todo])
        classes = self.classes
        allowed = set(codes) if codes is not None else None
        for row, i in enumerate(todo):
            if not known[row]:
                continue
            found: list[Suggestion] = []
            for j in np.argsort(-proba[row], kind="stable"):
                code = classes[j]
                if allowed is not None and code not in allowed:
                    continue
                found.append(Suggestion(code, float(min(1.0, max(0.0, proba[row][j])))))
                if len(found) == k:
                    break
            results[i] = found
        return results

    def save(self, path: Path | None = None) -> Path:
        """Write atomically (``modelfile.save``)."""
        return modelfile.save(self, path or model_path(), fmt=FEATURE_FORMAT)

    @classmethod
    def load(cls, path: Path | None = None, *, version: str | None = None) -> Model | None:
        """The saved model, if it fits this code and (with ``version``) this data (``modelfile.load``)."""
        return modelfile.load(path or model_path(), cls, fmt=FEATURE_FORMAT, version=version)


class KeywordBaseline:
    """The baseline the classifier must beat: count the catalog keywords and the Chinese name of
    each leaf found in the text; rank by hits, then by how common the category is in the
    training data (so a text without any keyword gets the majority classes)."""

    def __init__(self, samples: Iterable[Sample]) -> None:
        self.prior = Counter(code for _text, code in samples)
        self.total = max(1, sum(self.prior.values()))
        self.keywords = {
            leaf.code: [w for w in {leaf.name_zh, *leaf.keywords.split()} if w] for _main, leaf in LEAVES
        }

    def suggest(self, text: str, k: int = 3, *, codes: Collection[str] | None = None) -> list[Suggestion]:
        text = normalize(text)
        if not text:
            return []
        scores = {
            code: (sum(1 for w in kws if w in text), self.prior[code] / self.total)
            for code, kws in self.keywords.items()
            if codes is None or code in codes
        }
        ranked = sorted(scores, key=lambda c: (-scores[c][0], -scores[c][1], c))[:k]
        hits = sum(s[0] for s in scores.values()) or 1
        return [Suggestion(c, scores[c][0] / hits) for c in ranked]


def model_path() -> Path:
    return Path(settings.VAR_DIR) / MODEL_FILENAME


def corpus_version(path: Path = CORPUS_PATH) -> str:
    """A stamp of what a corpus-trained model depends on: the corpus bytes, the seeded leaf codes
    and the feature format."""
    digest = hashlib.sha256(path.read_bytes())
    digest.update("|".join(sorted(leaf.code for _main, leaf in LEAVES)).encode())
    digest.update(f"|format={FEATURE_FORMAT}".encode())
    return digest.hexdigest()[:16]


def corpus(split: str | None = None, path: Path = CORPUS_PATH) -> list[Sample]:
    """The shipped corpus as (text, category code) pairs, of one split or all of it."""
    if split is not None and split not in SPLITS:
        raise ValueError(f"unknown split {split!r}: expected one of {', '.join(SPLITS)}")
    with path.open(encoding="utf-8", newline="") as f:
        return [
            (row["text"], row["category"])
            for row in csv.DictReader(f)
            if split is None or row["split"] == split
        ]


def train(samples: Iterable[Sample], *, version: str = "", extra_samples: int = 0) -> Model:
    """Train on (text, category code) pairs. Needs at least two categories."""
    pairs = [(t, c) for t, c in samples if isinstance(t, str) and normalize(t) and c]
    if len({c for _t, c in pairs}) < 2:
        raise ValueError("training needs texts of at least two categories")
    started = time.perf_counter()
    pipeline = _pipeline()
    pipeline.fit([t for t, _c in pairs], [c for _t, c in pairs])
    return Model(
        pipeline=pipeline,
        version=version,
        samples=len(pairs),
        extra_samples=extra_samples,
        train_seconds=time.perf_counter() - started,
    )


@dataclass(frozen=True)
class Accuracy:
    top1: float
    top3: float
    samples: int


def evaluate(model: Model | Suggester, samples: Iterable[Sample]) -> Accuracy:
    """Top-1 and top-3 accuracy: the share of samples whose category is the first suggestion, and
    among the first three. A text the model cannot place counts as a miss."""
    pairs = list(samples)
    if not pairs:
        raise ValueError("no samples to evaluate")
    texts = [t for t, _c in pairs]
    # A Model suggests in one batch; any other suggester text by text.
    found = model.suggest_many(texts, 3) if isinstance(model, Model) else [model.suggest(t, 3) for t in texts]
    top1 = sum(1 for (_t, c), s in zip(pairs, found, strict=True) if s and s[0].category_code == c)
    top3 = sum(1 for (_t, c), s in zip(pairs, found, strict=True) if c in {x.category_code for x in s})
    return Accuracy(top1=top1 / len(pairs), top3=top3 / len(pairs), samples=len(pairs))


# --- The process's model ---------------------------------------------------------------------------

_process: modelfile.ProcessModel[Model] = modelfile.ProcessModel(
    name="grid classifier",
    load=lambda: Model.load(version=corpus_version()),
    train=lambda: train(corpus("train"), version=corpus_version()),
    save=lambda model: model.save(),
    path=model_path,
)


def get_model() -> Model:
    """The saved model if it matches the shipped corpus, else one trained now from its train split
    (and saved for the next process)."""
    return _process.get()


def set_model(model: Model | None) -> None:
    """Replace the process's model (after a retrain), or forget it so that the next use loads."""
    _process.set(model)


def suggest(text: str, k: int = 3, *, codes: Collection[str] | None = None) -> list[Suggestion]:
    """The process model's suggestions for ``text``; see ``Model.suggest``."""
    return get_model().suggest(text, k, codes=codes)


# --- Retraining with staff corrections --------------------------------------------------------------


@dataclass(frozen=True)
class RetrainResult:
    model: Model
    corpus_samples: int
    ticket_samples: int
    held_out: Accuracy
    path: Path | None


def confirmed_ticket_samples() -> list[Sample]:
    """(title + description, category code) of every ticket whose category staff confirmed or
    corrected: the deployment's own requests, labelled by the people who route them."""
    from shequ.grid.models import Ticket

    rows = (
        Ticket.objects.filter(category_confirmed_by__isnull=False, category__isnull=False)
        .order_by("pk")
        .values_list("title", "description", "category__code")
    )
    return [(f"{title}\n{description}", code) for title, description, code in rows.iterator(chunk_size=5000)]


def retrain(*, save: bool = True, path: Path | None = None) -> RetrainResult:
    """Train on the corpus's train split plus the confirmed tickets, measure on the corpus's
    held-out split, save, and make it the process's model."""
    base = corpus("train")
    extra = confirmed_ticket_samples()
    model = train([*base, *extra], version=corpus_version(), extra_samples=len(extra))
    held_out = evaluate(model, corpus("test"))
    saved = model.save(path) if save else None
    set_model(model)
    return RetrainResult(
        model=model, corpus_samples=len(base), ticket_samples=len(extra), held_out=held_out, path=saved
    )
