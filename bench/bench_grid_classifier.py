"""The grid request classifier on the shipped corpus: held-out accuracy, training time, latency.

Trains on the corpus's train split, measures top-1/top-3 on its test split, overall and per main
type, the time to train, and the latency of one ``suggest`` call (p50/p99 over the test texts,
several rounds). Baseline in the same run: keyword matching on the catalog's keywords and
Chinese names, falling back to the most common categories (``classifier.KeywordBaseline``).

``.venv/bin/python bench/bench_grid_classifier.py [--rounds 5]``
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections import defaultdict

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "shequ.settings")

import django

django.setup()

import sklearn  # noqa: E402

from shequ.grid import classifier  # noqa: E402
from shequ.grid.catalog import MAIN_TYPES  # noqa: E402


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def latencies(model: classifier.Suggester, texts: list[str], rounds: int) -> list[float]:
    times: list[float] = []
    for _ in range(rounds):
        for text in texts:
            started = time.perf_counter()
            model.suggest(text, 3)
            times.append(time.perf_counter() - started)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=5, help="latency rounds over the test texts")
    args = parser.parse_args()

    train, test = classifier.corpus("train"), classifier.corpus("test")
    classifier.words("预热")  # load jieba's dictionary outside the timed training
    started = time.perf_counter()
    model = classifier.train(train)
    train_seconds = time.perf_counter() - started
    started = time.perf_counter()
    baseline = classifier.KeywordBaseline(train)
    baseline_seconds = time.perf_counter() - started

    ours, base = classifier.evaluate(model, test), classifier.evaluate(baseline, test)
    texts = [t for t, _c in test]
    ours_lat, base_lat = latencies(model, texts, args.rounds), latencies(baseline, texts, args.rounds)

    print(f"scikit-learn {sklearn.__version__}; corpus version {classifier.corpus_version()}")
    print(f"corpus: {len(train)} train, {len(test)} test texts, {len({c for _t, c in train})} categories")
    print(f"training: model {train_seconds:.2f} s, baseline {baseline_seconds * 1000:.1f} ms")
    print()
    print("| | top-1 | top-3 |")
    print("|---|---:|---:|")
    print(f"| classifier | {ours.top1:.1%} | {ours.top3:.1%} |")
    print(f"| keyword baseline | {base.top1:.1%} | {base.top3:.1%} |")
    print(f"| ratio | {ours.top1 / base.top1:.2f}x | {ours.top3 / base.top3:.2f}x |")
    print()
    print("| main type | test texts | classifier top-1 | top-3 | baseline top-1 | top-3 |")
    print("|---|---:|---:|---:|---:|---:|")
    groups: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for text, code in test:
        groups[code.split(".", 1)[0]].append((text, code))
    for main in MAIN_TYPES:
        samples = groups.get(main.code)
        if not samples:
            continue
        a, b = classifier.evaluate(model, samples), classifier.evaluate(baseline, samples)
        print(
            f"| {main.name_zh} `{main.code}` | {len(samples)} | {a.top1:.0%} | {a.top3:.0%} "
            f"| {b.top1:.0%} | {b.top3:.0%} |"
        )
    print()
    p50, p99 = percentile(ours_lat, 0.5) * 1000, percentile(ours_lat, 0.99) * 1000
    b50, b99 = percentile(base_lat, 0.5) * 1000, percentile(base_lat, 0.99) * 1000
    print(f"suggest latency over {len(ours_lat)} calls (k=3):")
    print(f"  classifier p50 {p50:.2f} ms, p99 {p99:.2f} ms, mean {statistics.mean(ours_lat) * 1000:.2f} ms")
    print(f"  baseline   p50 {b50:.2f} ms, p99 {b99:.2f} ms  (ratio p50 {p50 / b50:.1f}x)")


if __name__ == "__main__":
    main()
