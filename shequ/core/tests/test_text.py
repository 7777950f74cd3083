"""The one text cleaner (shequ/core/text.py): control characters refused, text kept as written."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from shequ.core.text import check_line, check_multiline, clean_text

FULL_WIDTH = "入户看望，老人精神尚可；（已送米面油）：下次再来！"


def test_full_width_text_is_kept_as_written() -> None:
    assert clean_text(FULL_WIDTH) == FULL_WIDTH
    assert clean_text(f"  {FULL_WIDTH}\r\n第二行\t备注 \n", multiline=True) == f"{FULL_WIDTH}\n第二行\t备注"


@pytest.mark.parametrize("char", ["\x00", "\x01", "\x07", "\x0b", "\x1b", "\x7f", "\x85", "\ud800", "\uffff"])
def test_control_characters_are_refused_with_their_code_point(char: str) -> None:
    with pytest.raises(ValidationError) as caught:
        clean_text(f"楼道{char}堆物", multiline=True, field="description")
    error = caught.value.error_dict["description"][0]
    assert error.code == "control_character" and f"U+{ord(char):04X}" in error.messages[0]
    with pytest.raises(ValueError):
        check_multiline(f"楼道{char}堆物")


def test_line_breaks_and_tabs_only_in_multi_line_text() -> None:
    assert clean_text("一\n二\t三", multiline=True) == "一\n二\t三"
    assert check_multiline("一\n二\t三") == "一\n二\t三"
    for text in ("一\n二", "一\t二", "一\r二"):
        with pytest.raises(ValidationError):
            clean_text(text)
        with pytest.raises(ValueError):
            check_line(text)
