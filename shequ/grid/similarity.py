"""Similar tickets: duplicate suggestions at intake and the hot-topic view.

Both narrow the tickets with indexed filters first (``region_code`` prefix, ``submitted_at``,
``status``, category ids from the small category table), so they read a few hundred rows even
with a million tickets, and then compare texts in memory: TF-IDF cosine over jieba words and
character bigrams, with document frequencies from the shipped corpus (no trained model needed).

The querysets are built by ``*_queryset`` functions; ``rank_duplicates`` and ``cluster_topics``
are pure functions over rows, so they can be tested and reused on any rows.
"""

from __future__ import annotations

import datetime as dt
import functools
import math
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import numpy as np
from django.db.models import QuerySet
from scipy.sparse import csr_matrix
from sklearn.preprocessing import normalize as l2_normalize

from shequ.grid.classifier import corpus, normalize, words
from shequ.grid.models import OPEN_STATUSES, Category, Status, Ticket

EARTH_RADIUS_M = 6_371_008.8
COMMUNITY_CODE_LENGTH = 12
# Region code lengths by level (43, 4301, 430104, 430104002, 430104002001, 430104002001001).
LEVEL_LENGTHS = (2, 4, 6, 9, 12, 15)

DUPLICATE_DAYS = 14
DUPLICATE_RADIUS_M = 300.0
DUPLICATE_LIMIT = 5
DUPLICATE_MIN_SCORE = 0.1
# Open duplicates: anything someone still owes work on, except tickets already merged into another.
DUPLICATE_STATUSES = sorted(OPEN_STATUSES - {Status.MERGED})

TOPIC_THRESHOLD = 0.3
TOPIC_MIN_COUNT = 3

ROW_FIELDS = (
    "id",
    "title",
    "description",
    "category_id",
    "category__code",
    "region_code",
    "building_id",
    "latitude",
    "longitude",
    "status",
    "submitted_at",
)


def _tokens(text: str) -> list[str]:
    """jieba words and character bigrams: words catch 井盖/垃圾站, bigrams survive typos and
    segmentation differences between two writers."""
    text = normalize(text)
    compact = "".join(ch for ch in text if ch.isalnum())
    return words(text) + [compact[i : i + 2] for i in range(len(compact) - 1)]


@functools.cache
def _reference_idf() -> tuple[dict[str, float], float]:
    """Inverse document frequencies from the shipped request corpus, and the weight of a token it
    never saw. Fitted on a few candidate rows, IDF would weigh down exactly what they share
    (共享单车 in every report of the topic); the corpus knows that 小区 and 反映 say little."""
    texts = [text for text, _code in corpus()]
    df = Counter(token for text in texts for token in set(_tokens(text)))
    n = len(texts)
    return {t: math.log((n + 1) / (c + 1)) + 1 for t, c in df.items()}, math.log(n + 1) + 1


def text_vectors(texts: Sequence[str]) -> Any:
    """L2-normalized TF-IDF rows of ``texts`` (a dot product is their cosine similarity), or None
    when no text has a token."""
    idf, unseen = _reference_idf()
    vocabulary: dict[str, int] = {}
    rows: list[int] = []
    cols: list[int] = []
    values: list[float] = []
    for i, text in enumerate(texts):
        for token, count in Counter(_tokens(text)).items():
            rows.append(i)
            cols.append(vocabulary.setdefault(token, len(vocabulary)))
            values.append((1 + math.log(count)) * idf.get(token, unseen))
    if not values:
        return None
    matrix = csr_matrix((values, (rows, cols)), shape=(len(texts), len(vocabulary)))
    return l2_normalize(matrix)


def haversine_m(lat1: float, lng1: float, lat2: float, lng2: float) -> float:
    """Great-circle distance in metres."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lng2 - lng1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(a)))


def _float(value: Decimal | float | None) -> float | None:
    return None if value is None else float(value)


def _text(row: dict[str, Any]) -> str:
    return f"{row['title']}\n{row['description']}"


# --- Duplicate suggestions at intake -----------------------------------------------------------------


@dataclass(frozen=True)
class Duplicate:
    ticket_id: int
    title: str
    category_code: str
    status: str
    submitted_at: dt.datetime
    distance_m: float | None  # None when matched by grid or building rather than by distance
    score: float  # text similarity, 0–1


def _related_category_ids(category: Category | str) -> tuple[int | None, list[int]]:
    """The category's id and the ids of every leaf of its main type."""
    code = category.code if isinstance(category, Category) else category
    main = code.split(".", 1)[0]
    rows = list(Category.objects.filter(code__startswith=f"{main}.").values_list("id", "code"))
    exact = next((pk for pk, c in rows if c == code), None)
    return exact, [pk for pk, _c in rows]


def duplicate_queryset(
    *,
    category_ids: Iterable[int],
    region_code: str,
    now: dt.datetime,
    days: int = DUPLICATE_DAYS,
    exclude_id: int | None = None,
    tickets: QuerySet[Ticket] | None = None,
) -> QuerySet[Ticket]:
    """Open tickets of these categories in the same community, submitted in the last ``days``."""
    qs = (tickets if tickets is not None else Ticket.objects.all()).filter(
        region_code__startswith=region_code[:COMMUNITY_CODE_LENGTH],
        submitted_at__gte=now - dt.timedelta(days=days),
        submitted_at__lte=now,
        status__in=DUPLICATE_STATUSES,
        category_id__in=list(category_ids),
    )
    if exclude_id is not None:
        qs = qs.exclude(pk=exclude_id)
    return qs.order_by()


def rank_duplicates(
    text: str,
    rows: Iterable[dict[str, Any]],
    *,
    category_id: int | None,
    region_code: str,
    latitude: float | None = None,
    longitude: float | None = None,
    building_id: int | None = None,
    radius_m: float = DUPLICATE_RADIUS_M,
    limit: int = DUPLICATE_LIMIT,
    min_score: float = DUPLICATE_MIN_SCORE,
) -> list[Duplicate]:
    """The candidate rows near the new report, ranked by how alike their texts are.

    Near: within ``radius_m`` when both have a point; otherwise the same building when both have
    one, else the same grid (region code). A ticket of the very same category gets a small bonus
    over one of a sibling category of the same main type."""
    nearby: list[tuple[dict[str, Any], float | None]] = []
    for row in rows:
        lat, lng = _float(row.get("latitude")), _float(row.get("longitude"))
        if latitude is not None and longitude is not None and lat is not None and lng is not None:
            metres = haversine_m(latitude, longitude, lat, lng)
            if metres <= radius_m:
                nearby.append((row, metres))
        elif building_id is not None and row.get("building_id") is not None:
            if row["building_id"] == building_id:
                nearby.append((row, None))
        elif row["region_code"] == region_code:
            nearby.append((row, None))
    if not nearby or not normalize(text):
        return []
    vectors = text_vectors([text, *(_text(row) for row, _d in nearby)])
    if vectors is None:
        return []
    similarity = (vectors[1:] @ vectors[0].T).toarray().ravel()
    found: list[Duplicate] = []
    for (row, distance), sim in zip(nearby, similarity, strict=True):
        score = float(sim) * (1.0 if category_id is None or row["category_id"] == category_id else 0.9)
        if score < min_score:
            continue
        found.append(
            Duplicate(
                ticket_id=row["id"],
                title=row["title"],
                category_code=row["category__code"] or "",
                status=row["status"],
                submitted_at=row["submitted_at"],
                distance_m=None if distance is None else round(distance, 1),
                score=round(min(1.0, score), 4),
            )
        )
    found.sort(key=lambda d: (-d.score, d.distance_m or 0.0, -d.submitted_at.timestamp(), d.ticket_id))
    return found[:limit]


def find_duplicates(
    text: str,
    *,
    category: Category | str,
    region_code: str,
    now: dt.datetime,
    latitude: float | Decimal | None = None,
    longitude: float | Decimal | None = None,
    building_id: int | None = None,
    exclude_id: int | None = None,
    tickets: QuerySet[Ticket] | None = None,
    days: int = DUPLICATE_DAYS,
    radius_m: float = DUPLICATE_RADIUS_M,
    limit: int = DUPLICATE_LIMIT,
) -> list[Duplicate]:
    """Open, recent, nearby tickets of the same category (or main type) whose text is like ``text``,
    best first: what intake shows as "is this the same problem?". Pass ``tickets`` already scoped
    to the viewer to keep others' tickets out."""
    exact, ids = _related_category_ids(category)
    rows = duplicate_queryset(
        category_ids=ids, region_code=region_code, now=now, days=days, exclude_id=exclude_id, tickets=tickets
    ).values(*ROW_FIELDS)
    return rank_duplicates(
        text,
        rows,
        category_id=exact,
        region_code=region_code,
        latitude=_float(latitude),
        longitude=_float(longitude),
        building_id=building_id,
        radius_m=radius_m,
        limit=limit,
    )


# --- Hot topics ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class HotTopic:
    category_code: str
    title: str  # the title of this week's ticket nearest the cluster's centre
    count: int  # tickets this week
    previous: int  # tickets in the week before
    growth: int  # count - previous
    ticket_ids: list[int] = field(default_factory=list)  # this week's
    regions: dict[str, int] = field(default_factory=dict)  # this week's count per sub-region

    @property
    def growth_ratio(self) -> float | None:
        """This week over last week; None when last week had none."""
        return None if self.previous == 0 else self.count / self.previous


def sub_region(code: str, region_code: str) -> str:
    """The code of the level just below ``region_code`` that ``code`` lies in (the grid of a
    community, the community of a street …); ``code`` itself when it is no deeper."""
    deeper = [n for n in LEVEL_LENGTHS if n > len(region_code)]
    return code[: deeper[0]] if deeper and len(code) >= deeper[0] else code


def topic_queryset(
    region_code: str, *, now: dt.datetime, days: int = 7, tickets: QuerySet[Ticket] | None = None
) -> QuerySet[Ticket]:
    """Every report of the area in the last two periods (merged ones too: each is a report)."""
    return (
        (tickets if tickets is not None else Ticket.objects.all())
        .filter(
            region_code__startswith=region_code,
            submitted_at__gte=now - dt.timedelta(days=2 * days),
            submitted_at__lt=now,
            category__isnull=False,
        )
        .order_by()
    )


def _greedy_clusters(vectors: Any, threshold: float) -> list[list[int]]:
    """Single pass, oldest first: join the cluster whose centroid is most similar (at least
    ``threshold``), else start one. Rows × clusters dot products: enough for two weeks of one area."""
    clusters: list[list[int]] = []
    sums = np.zeros((0, vectors.shape[1]))
    centroids = np.zeros((0, vectors.shape[1]))
    for i in range(vectors.shape[0]):
        dense = vectors[i].toarray().ravel()
        if clusters:
            sims = centroids @ dense
            best = int(np.argmax(sims))
            if sims[best] >= threshold:
                clusters[best].append(i)
                sums[best] += dense
                norm = np.linalg.norm(sums[best])
                centroids[best] = sums[best] / norm if norm else sums[best]
                continue
        clusters.append([i])
        sums = np.vstack([sums, dense])
        centroids = np.vstack([centroids, dense])
    return clusters


def cluster_topics(
    rows: Iterable[dict[str, Any]],
    *,
    region_code: str,
    now: dt.datetime,
    days: int = 7,
    threshold: float = TOPIC_THRESHOLD,
    min_count: int = TOPIC_MIN_COUNT,
) -> list[HotTopic]:
    """Clusters of similar tickets (same category, alike texts) with at least ``min_count``
    reports in the last ``days`` and more than in the ``days`` before, fastest growing first."""
    this_start = now - dt.timedelta(days=days)
    by_category: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        if row.get("category__code"):
            by_category[row["category__code"]].append(row)
    topics: list[HotTopic] = []
    for code, members in by_category.items():
        if sum(1 for r in members if r["submitted_at"] >= this_start) < min_count:
            continue  # cheap exit: the category cannot hold a hot topic this week
        members.sort(key=lambda r: (r["submitted_at"], r["id"]))
        vectors = text_vectors([_text(r) for r in members])
        if vectors is None:
            continue
        for cluster in _greedy_clusters(vectors, threshold):
            recent = [i for i in cluster if members[i]["submitted_at"] >= this_start]
            previous = len(cluster) - len(recent)
            if len(recent) < min_count or len(recent) <= previous:
                continue
            centre = np.asarray(vectors[recent].mean(axis=0)).ravel()
            scores = vectors[recent] @ centre
            nearest = recent[int(np.argmax(scores))]
            regions = Counter(sub_region(members[i]["region_code"], region_code) for i in recent)
            topics.append(
                HotTopic(
                    category_code=code,
                    title=members[nearest]["title"],
                    count=len(recent),
                    previous=previous,
                    growth=len(recent) - previous,
                    ticket_ids=sorted(members[i]["id"] for i in recent),
                    regions=dict(sorted(regions.items(), key=lambda kv: (-kv[1], kv[0]))),
                )
            )
    topics.sort(key=lambda t: (-t.growth, -t.count, t.category_code, t.title))
    return topics


def hot_topics(
    region_code: str,
    *,
    now: dt.datetime,
    days: int = 7,
    tickets: QuerySet[Ticket] | None = None,
    threshold: float = TOPIC_THRESHOLD,
    min_count: int = TOPIC_MIN_COUNT,
) -> list[HotTopic]:
    """The hot topics of an area: see ``cluster_topics``. Pass ``tickets`` already scoped to the
    viewer."""
    rows = topic_queryset(region_code, now=now, days=days, tickets=tickets).values(*ROW_FIELDS)
    return cluster_topics(
        rows, region_code=region_code, now=now, days=days, threshold=threshold, min_count=min_count
    )
