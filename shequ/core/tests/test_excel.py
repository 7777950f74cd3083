import io
from datetime import date

from openpyxl import load_workbook

from shequ.core.excel import Column, Sheet, workbook_bytes


def test_workbook_has_title_info_header_rows_and_marks() -> None:
    data = workbook_bytes(
        [
            Sheet(
                name="人员",
                title="实有人口台账",
                info="枇杷塘社区 · 导出人 张伟",
                columns=[Column("姓名"), Column("身份证号", 22), Column("出生日期", text=False)],
                rows=[["曾小红", "430104********1234", date(1950, 1, 2)], ["李娜", "", None]],
                marks={(1, 1): "身份证号为空"},
            )
        ]
    )
    ws = load_workbook(io.BytesIO(data)).active
    assert ws["A1"].value == "实有人口台账"
    assert ws["A2"].value == "枇杷塘社区 · 导出人 张伟"
    assert [c.value for c in ws[3]] == ["姓名", "身份证号", "出生日期"]
    assert ws["B4"].value == "430104********1234" and ws["B4"].number_format == "@"
    assert ws["C4"].value.date() == date(1950, 1, 2)
    assert ws["B5"].comment.text == "身份证号为空"
    assert ws.freeze_panes == "A4"
