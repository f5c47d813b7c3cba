"""Declare a table's columns once, on a frozen dataclass, and derive its Arrow schema.

Each column is a dataclass field carrying its Arrow type, nullability and description in the
field metadata. Writers, generated docs and tests read them from here; nobody retypes a list.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

import pyarrow as pa

UTC_MICROS = pa.timestamp("us", tz="UTC")
_META_KEY = "newsbeam_column"
MIN_DESCRIPTION_CHARS = 10
"""A column without a real description is refused when its table's columns are listed."""


@dataclass(frozen=True)
class ColumnSpec:
    """Everything a reader needs to know about one column."""

    name: str
    arrow_type: pa.DataType
    nullable: bool
    description: str

    def __post_init__(self) -> None:
        if len(self.description.strip()) < MIN_DESCRIPTION_CHARS:
            raise ValueError(f"column {self.name!r} needs a description (at least {MIN_DESCRIPTION_CHARS} characters)")

    def arrow_field(self) -> pa.Field:
        return pa.field(
            self.name,
            self.arrow_type,
            nullable=self.nullable,
            metadata={"description": self.description},
        )


def column(
    arrow_type: pa.DataType, description: str, *, nullable: bool = True, default: Any = dataclasses.MISSING
) -> Any:
    """A dataclass field that is also a documented table column; nullable columns default to None."""
    meta = {_META_KEY: (arrow_type, nullable, description)}
    if default is dataclasses.MISSING and nullable:
        default = None
    if default is dataclasses.MISSING:
        return dataclasses.field(metadata=meta)
    return dataclasses.field(default=default, metadata=meta)


def column_from(spec: ColumnSpec) -> Any:
    """A dataclass field declaring ``spec``: the column one list defines for several tables."""
    return column(spec.arrow_type, spec.description, nullable=spec.nullable)


def column_specs(record_type: type) -> list[ColumnSpec]:
    """The columns declared on a record dataclass, in declaration order."""
    specs = []
    for field in dataclasses.fields(record_type):
        if _META_KEY not in field.metadata:
            raise TypeError(f"{record_type.__name__}.{field.name} is not declared with column()")
        arrow_type, nullable, description = field.metadata[_META_KEY]
        specs.append(ColumnSpec(field.name, arrow_type, nullable, description))
    return specs
