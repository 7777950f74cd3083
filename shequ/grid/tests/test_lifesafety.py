"""The life-safety detector: the unmistakable by rule, negation and the past set aside, the model
behind the rules, the reasons it gives, and the labelled data kept apart from the held-out set."""

from __future__ import annotations

import csv
import re
from pathlib import Path

import pytest

from shequ.grid import lifesafety as ls

PRESENT = [
    ("3栋一楼好大的煤气味 快来人", "gas"),
    ("施工队把燃气管道挖断了，要疏散居民", "gas"),
    ("门口有个人倒在地上叫不醒", "person_down"),
    ("车库着火了 冒黑烟", "fire"),
    ("对门王奶奶三天没开门了，敲门也没人应", "elderly_unseen"),
    ("电梯困人 里面有个老人和小孩", "trapped"),
    ("水已经漫到床边了 一楼好几户都进水了", "flooding"),
    ("电线掉在地上还在闪火花 小孩在旁边玩", "live_wire"),
    ("工地的围墙倒塌了 压到了人", "collapse"),
    ("两个人拿刀在楼下砍 好多血", "violence"),
    ("娃娃爬到窗台外面去了 六楼", "child_height"),
    ("上个月也漏过气，现在又闻到很浓的煤气味", "gas"),
    ("火已经灭了，但是还有人困在里面", "trapped"),
]
NOT_PRESENT = [
    "没有人受伤",
    "上次着火的那栋楼已经修好了",
    "燃气费怎么交",
    "消防通道被占了，车都开不进来",
    "不是着火是烧烤的烟",
    "担心电动车在楼道充电会着火",
    "昨天家里进水了，现在已经退了，想问怎么申请补助",
    "老人去女儿家住了 联系上了",
    "小区组织消防演练，模拟着火疏散",
    "烟感低电量一直报警",
    "燃气灶打不着火是不是欠费了",
]


@pytest.mark.parametrize(("text", "kind"), PRESENT)
def test_rules_fire_on_present_danger(text: str, kind: str) -> None:
    active = [h for h in ls.rule_hits(text) if not h.set_aside]
    assert active, text
    assert kind in {h.kind for h in active}
    # The phrase shown to staff is the writer's own words.
    assert all(h.phrase and h.phrase in ls.normalize(text) for h in active)


@pytest.mark.parametrize("text", NOT_PRESENT)
def test_negation_past_and_mentions_do_not_fire_a_rule(text: str) -> None:
    assert [h for h in ls.rule_hits(text) if not h.set_aside] == [], text


@pytest.mark.parametrize(
    ("text", "why"),
    [("没有人受伤", "negated"), ("上次着火的那栋楼已经修好了", "past"), ("家里进水了，现在已经退了", "over")],
)
def test_a_set_aside_match_says_why(text: str, why: str) -> None:
    hits = ls.rule_hits(text)
    assert hits and {h.set_aside for h in hits} == {why}


@pytest.mark.parametrize(("text", "kind"), PRESENT)
def test_detect_marks_present_danger_urgent_with_reasons(text: str, kind: str) -> None:
    triage = ls.detect(text)
    assert triage.urgent and triage.kind in ls.KINDS
    reasons = triage.reasons()
    assert any(r["by"] == "rule" and r["phrase"] for r in reasons)


@pytest.mark.parametrize("text", NOT_PRESENT)
def test_detect_leaves_ordinary_and_negated_texts_alone(text: str) -> None:
    assert not ls.detect(text).urgent, text


@pytest.mark.parametrize(
    "text",
    [
        "楼道堆放杂物\n2单元楼道堆满纸箱",
        "家里楼上漏水",
        "晚上广场舞音乐太吵了",
        "路灯坏了好几天",
        # Who writes is no signal: a patrol record of low water pressure.
        "网格员巡查发现：枇杷塘社区3栋2单元水压太低了，六楼以上白天基本没水",
    ],
)
def test_everyday_requests_are_far_below_the_model_threshold(text: str) -> None:
    probability, _kind = ls.get_model().life_probability([text])[0]
    assert probability < ls.MODEL_THRESHOLD - 0.05, (text, probability)


def test_the_model_catches_what_no_rule_names() -> None:
    text = "我前夫在门口一直踹 说今天不放过我 我和孩子躲在厕所里"
    triage = ls.detect(text)
    assert triage.urgent
    assert any(h.by in {"rule", "model"} for h in triage.hits)
    model = ls.get_model()
    probability, _kind = model.life_probability([text])[0]
    assert probability >= ls.MODEL_THRESHOLD


def test_model_reasons_name_the_words_it_read() -> None:
    model = ls.get_model()
    phrases = model.top_phrases("楼下好大一股臭味 像是煤气 头都晕了")
    assert phrases and all(p in ls.normalize("楼下好大一股臭味 像是煤气 头都晕了") for p in phrases)


def test_rules_alone_when_the_model_fails(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken() -> ls.Model:
        raise OSError("model file unreadable")

    monkeypatch.setattr(ls, "get_model", broken)
    assert ls.detect("好大的煤气味").urgent  # the rule still fires
    assert not ls.detect("路灯不亮了").urgent
    assert ls.detect("好大的煤气味").probability is None


def test_empty_text_is_not_urgent() -> None:
    assert ls.detect("") == ls.NOT_URGENT
    assert ls.detect("   \n ") == ls.NOT_URGENT


def _key(text: str) -> str:
    return re.sub(r"[\W\d_]+", "", text)


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def test_labelled_sets_are_valid_and_kept_apart() -> None:
    """The held-out set measures the detector only if none of it was trained on."""
    train, held = _rows(ls.TRAIN_PATH), _rows(ls.EVAL_PATH)
    for rows in (train, held):
        assert {r["label"] for r in rows} == {"life", "ordinary"}
        for r in rows:
            assert r["kind"] in (
                ls.KINDS if r["label"] == "life" else {"mention", "negated", "past", "hazard", "plain"}
            )
    assert len(held) >= 400 and sum(r["label"] == "life" for r in held) >= 150
    train_keys = {_key(r["text"]) for r in train}
    assert not train_keys & {_key(r["text"]) for r in held}

    def grams(text: str) -> set[str]:
        t = _key(text)
        return {t[i : i + 4] for i in range(len(t) - 3)}

    train_grams = [grams(r["text"]) for r in train]
    for r in held:
        g = grams(r["text"])
        if len(g) < 6:
            continue
        closest = max(len(g & t) / len(g | t) for t in train_grams)
        assert closest < 0.5, r["text"]


@pytest.mark.django_db
def test_cleared_alarms_feed_the_next_training(tmp_path: Path) -> None:
    """Staff decisions come back as training texts (see test_urgent for the clearing itself)."""
    result = ls.retrain(save=True, path=tmp_path / "m.joblib")
    assert result.ticket_samples == 0 and result.base_samples > 1000
    assert (tmp_path / "m.joblib").exists()
    assert ls.Model.load(tmp_path / "m.joblib", version=ls.data_version()) is not None


@pytest.mark.parametrize(
    "text",
    [
        "学校食堂的燃气报警器坏了没修",
        "老旧小区没有消防栓，真起火了怎么办",
        "电梯里的照明和通风都坏了，夏天闷得喘不过气，物业说等配件",
        "反映：老小区的电线线路老化，一到夏天就冒火花",
        "小区消防通道上划了收费车位，出了火灾消防车都进不来",
    ],
)
def test_hypotheses_habits_and_broken_devices_are_not_alarms(text: str) -> None:
    """False alarms the demo's corpus texts showed: each names a hazard, none a danger this minute."""
    assert not ls.detect(text).urgent, text
