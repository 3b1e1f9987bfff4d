"""Achievements grouped by the committee's 评审标准 (Anhui, Fujian: 思想政治, 乡村任教或支教,
能力条件, 业绩条件, 教研科研条件; for engineering 业绩贡献, 智力成果, 论文著作条件).

Which headings exist, in which order and with which columns is the committee's choice
(「申报业绩下的类别以及每个类别对应的具体申报项目由评委会组建单位根据评审标准条件等进行设置」),
so the contract takes them as data: each section names its heading, the columns it prints
and its items, one text per column. The review form prints them under their headings, in
the order sent."""

from __future__ import annotations

from pydantic import Field, model_validator
from pydantic_core import PydanticCustomError

from service.contract.common import ContractModel, Line, Short, Text, rows

MAX_COLUMNS = 8


class CriteriaItem(ContractModel):
    # One text per column of its section, in the section's order; "" or null where empty.
    cells: list[Text | None] = Field(min_length=1, max_length=MAX_COLUMNS)


class CriteriaSection(ContractModel):
    heading: Short  # 能力条件, 业绩条件 ...
    standard: Line | None = None  # the 评审标准 the heading belongs to
    columns: list[Short] = Field(min_length=1, max_length=MAX_COLUMNS)  # e.g. 类别、时间、业绩内容、排名
    items: rows(CriteriaItem)

    @model_validator(mode="after")
    def _cells_match_columns(self) -> CriteriaSection:
        for number, item in enumerate(self.items):
            if len(item.cells) != len(self.columns):
                raise PydanticCustomError(
                    "criteria_cells",
                    "第 {n} 项（items[{i}]）有 {got} 个单元格，本栏目有 {want} 列（{columns}）",
                    {
                        "n": number + 1,
                        "i": number,
                        "got": len(item.cells),
                        "want": len(self.columns),
                        "columns": "、".join(self.columns),
                    },
                )
        return self
