"""The life-safety detector (issue 10): recall and precision on the held-out labelled set, the
false-alarm rate on the ordinary categories of the request corpus, and the time from a resident's
submission to the on-duty person's notification being queued.

Baselines, in the same run: the request classifier read as a triage (a text counts as urgent when
its top category is under 突发事件 or 安全隐患, what staff relied on before), and the rules and the
model alone. The held-out set (``shequ/grid/data/lifesafety_eval.csv``) was written apart from the
training set and is never trained on; the thresholds were chosen by cross-validation on the
training set (``--cv`` prints it).

    .venv/bin/python bench/bench_lifesafety.py            # quality (any database)
    .venv/bin/python bench/bench_lifesafety.py --cv       # + 5-fold CV on the training set
    .venv/bin/python bench/bench_lifesafety.py --cv --no-held-out  # CV alone (choosing thresholds)
    SHEQU_DEMO=1 .venv/bin/python bench/bench_lifesafety.py --latency 200  # + latency (demo data)
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections import Counter
from collections.abc import Sequence

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "shequ.settings")

import django

django.setup()

from shequ.grid import classifier  # noqa: E402
from shequ.grid import lifesafety as ls  # noqa: E402

URGENT_MAIN_TYPES = ("incident", "safety")


def rates(truth: Sequence[bool], fired: Sequence[bool]) -> tuple[float, float, int, int, int]:
    tp = sum(t and f for t, f in zip(truth, fired, strict=True))
    fp = sum((not t) and f for t, f in zip(truth, fired, strict=True))
    fn = sum(t and not f for t, f in zip(truth, fired, strict=True))
    recall = tp / max(1, tp + fn)
    precision = tp / max(1, tp + fp)
    return recall, precision, tp, fp, fn


def quality(show_misses: bool) -> None:
    started = time.perf_counter()
    model = ls.train(ls.base_samples(), version="bench")
    print(f"model: {model.samples} training texts, trained in {time.perf_counter() - started:.1f} s")
    for path in ls.HELD_OUT:
        held_out(model, path, show_misses and path == ls.EVAL_PATH)
    corpus_false_alarms(model, show_misses)


def held_out(model: ls.Model, path: os.PathLike[str], show_misses: bool) -> None:
    rows = ls.labelled(path)  # type: ignore[arg-type]
    texts = [t for t, _k in rows]
    truth = [k != ls.ORDINARY for _t, k in rows]
    with open(path, encoding="utf-8") as f:
        import csv

        ordinary_kinds = [r["kind"] for r in csv.DictReader(f)]
    print()
    print(
        f"held-out set {os.path.basename(path)}: {len(rows)} texts, {sum(truth)} life-safety,"
        f" {len(rows) - sum(truth)} ordinary"
    )

    t0 = time.perf_counter()
    triage = [ls.detect(t, model=model) for t in texts]
    detect_ms = (time.perf_counter() - t0) / len(texts) * 1000
    fired = [t.urgent for t in triage]
    rules_only = [any(not h.set_aside for h in ls.rule_hits(t)) for t in texts]
    probs = model.life_probability(texts)
    model_only = [p >= ls.MODEL_THRESHOLD for p, _k in probs]

    cls_model = classifier.get_model()
    t0 = time.perf_counter()
    tops = cls_model.suggest_many(texts, 1)
    classify_ms = (time.perf_counter() - t0) / len(texts) * 1000
    baseline = [bool(s) and s[0].category_code.split(".")[0] in URGENT_MAIN_TYPES for s in tops]

    print()
    print("| detector | recall | precision | caught | false alarms | missed |")
    print("|---|---|---|---|---|---|")
    for name, result in (
        ("request classifier, top category 突发事件/安全隐患 (baseline)", baseline),
        ("rules alone", rules_only),
        (f"model alone (p ≥ {ls.MODEL_THRESHOLD})", model_only),
        ("**rules + model (deployed)**", fired),
    ):
        r, p, tp, fp, fn = rates(truth, result)
        print(f"| {name} | {r:.3f} | {p:.3f} | {tp} | {fp} | {fn} |")
    print()
    print(
        f"time per text: detector {detect_ms:.2f} ms, request classifier {classify_ms:.2f} ms "
        f"(ratio {detect_ms / max(classify_ms, 1e-9):.2f})"
    )

    kinds = [k for _t, k in rows]
    print()
    print("recall by kind (life-safety texts):")
    for kind in ls.KINDS:
        idx = [i for i, k in enumerate(kinds) if k == kind]
        if idx:
            caught = sum(fired[i] for i in idx)
            print(f"  {kind:15s} {caught}/{len(idx)}")
    print("false alarms by kind (ordinary texts):")
    by = Counter(ordinary_kinds[i] for i, k in enumerate(kinds) if k == ls.ORDINARY and fired[i])
    total = Counter(ordinary_kinds[i] for i, k in enumerate(kinds) if k == ls.ORDINARY)
    for kind, n in sorted(total.items()):
        print(f"  {kind:15s} {by.get(kind, 0)}/{n}")

    if show_misses:
        print("\nmissed:")
        for i, (t, k) in enumerate(rows):
            if truth[i] and not fired[i]:
                print(f"  [{k}] p={probs[i][0]:.2f} {t}")
        print("false alarms:")
        for i, (t, _k) in enumerate(rows):
            if not truth[i] and fired[i]:
                why = "; ".join(f"{h.by}:{h.phrase}" for h in triage[i].hits)
                print(f"  [{ordinary_kinds[i]}] {why} | {t}")


def corpus_false_alarms(model: ls.Model, show_misses: bool) -> None:
    cls_model = classifier.get_model()
    corpus = [t for t, _k in ls.ordinary_corpus("test")]
    corpus_fired = [ls.detect(t, model=model).urgent for t in corpus]
    corpus_baseline = [
        bool(s) and s[0].category_code.split(".")[0] in URGENT_MAIN_TYPES
        for s in cls_model.suggest_many(corpus, 1)
    ]
    print()
    print(
        f"request corpus, ordinary categories, test split ({len(corpus)} texts): detector marks "
        f"{sum(corpus_fired)} urgent ({sum(corpus_fired) / len(corpus):.1%}); the classifier baseline "
        f"{sum(corpus_baseline)} ({sum(corpus_baseline) / len(corpus):.1%})"
    )
    if show_misses:
        print("corpus false alarms:")
        for text, flagged in zip(corpus, corpus_fired, strict=True):
            if flagged:
                print(f"  {text}")


def cross_validation() -> None:
    """5-fold CV on the training set: how the thresholds were chosen (the held-out set is not read)."""
    import numpy as np
    from sklearn.model_selection import StratifiedKFold

    with open(ls.TRAIN_PATH, encoding="utf-8", newline="") as f:
        import csv

        groups = [r["kind"] for r in csv.DictReader(f) if r["text"].strip()]
    train = ls.labelled(ls.TRAIN_PATH)
    corpus = ls.ordinary_corpus("train")
    texts = np.array([t for t, _k in train])
    labels = np.array([k for _t, k in train])
    rows = []
    folds = StratifiedKFold(5, shuffle=True, random_state=0)
    for fit, held in folds.split(texts, labels == ls.ORDINARY):
        model = ls.train([*zip(texts[fit], labels[fit], strict=True), *corpus])
        probabilities = model.life_probability(list(texts[held]))
        for i, (probability, _kind) in zip(held, probabilities, strict=True):
            hits = ls.rule_hits(texts[i])
            active = any(not h.set_aside for h in hits)
            rows.append((i, labels[i] != ls.ORDINARY, active, hits, probability))
    truth = [row[1] for row in rows]
    ordinary = Counter(groups[i] for i, life, *_ in rows if not life)
    print(
        "\n5-fold cross-validation on the training set (threshold / when calm / when every rule match was "
        "set aside): recall / precision, false alarms by kind of ordinary text"
    )
    for base in (0.3, 0.4, 0.5):
        for calm in (0.8, 0.9):
            for aside in (0.8, 0.95):
                fired = [
                    active or p >= ls.model_threshold(texts[i], hits, base=base, calm=calm, set_aside=aside)
                    for i, _life, active, hits, p in rows
                ]
                r, p, *_ = rates(truth, fired)
                alarms = Counter(
                    groups[row[0]] for row, f in zip(rows, fired, strict=True) if f and not row[1]
                )
                by = ", ".join(f"{g} {alarms.get(g, 0)}/{n}" for g, n in sorted(ordinary.items()))
                print(f"  {base:.1f} / {calm:.2f} / {aside:.2f}: {r:.3f} / {p:.3f}   {by}")


def latency(n: int) -> None:
    from bench_lifesafety_latency import measure

    measure(n)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cv", action="store_true")
    parser.add_argument(
        "--no-held-out", action="store_true", help="skip the held-out set (with --cv: choose thresholds)"
    )
    parser.add_argument("--misses", action="store_true", help="print every miss and false alarm")
    parser.add_argument("--latency", type=int, default=0, help="tickets to submit (needs demo data)")
    args = parser.parse_args()
    if not args.no_held_out:
        quality(args.misses)
    if args.cv:
        cross_validation()
    if args.latency:
        latency(args.latency)


if __name__ == "__main__":
    main()
