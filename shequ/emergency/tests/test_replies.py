"""Reading SMS replies to call-outs: keywords in half- and full-width, with the place after them;
texts that are no answer are not read as one."""

from __future__ import annotations

import pytest

from shequ.emergency.models import Answer
from shequ.emergency.replies import parse


@pytest.mark.parametrize(
    ("text", "answer", "location"),
    [
        ("1", Answer.SAFE, ""),
        (" 1 ", Answer.SAFE, ""),
        ("１", Answer.SAFE, ""),  # full-width digit from a Chinese keyboard
        ("安全", Answer.SAFE, ""),
        ("我安全，在亲戚家", Answer.SAFE, "在亲戚家"),
        ("平安。", Answer.SAFE, ""),
        ("2", Answer.HELP, ""),
        ("2 5栋301 腿受伤了", Answer.HELP, "5栋301 腿受伤了"),
        ("２，5栋301", Answer.HELP, "5栋301"),
        ("求助：一楼进水了", Answer.HELP, "一楼进水了"),
        ("救命", Answer.HELP, ""),
        ("不安全 水到膝盖", Answer.HELP, "水到膝盖"),  # "不安全" is not "安全"
        ("SOS", Answer.HELP, ""),
        ("0", Answer.ACK, ""),
        ("收到", Answer.ACK, ""),
        ("收到！", Answer.ACK, ""),
        ("OK", Answer.ACK, ""),
        ("2" + "楼" * 300, Answer.HELP, "楼" * 200),  # the place is cut to what is kept
    ],
)
def test_keywords_are_read(text: str, answer: str, location: str) -> None:
    parsed = parse(text)
    assert (parsed.answer, parsed.location) == (answer, location)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "12",  # not "1" followed by "2"
        "21",
        "3",
        "10086",
        "okay",
        "好的知道了",
        "谢谢",
        "你好 1",  # the keyword must come first
        "？",
        "\x00\x01",
        "１２３",
    ],
)
def test_texts_that_are_no_answer_are_not_understood(text: str) -> None:
    assert parse(text).answer == ""
