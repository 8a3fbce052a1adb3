"""What the probes that read the host app's database share: options and table names."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Annotated, Any

import sqlalchemy as sa
from pydantic import AfterValidator, Field

from collector.probes.base import Probe
from shared.config import Strict

IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)?$")


class DatabaseOptions(Strict):
    url_env: str = Field(
        "DATABASE_URL", description="variable holding the SQLAlchemy URL"
    )


def table_name(value: str) -> str:
    """Accept `name` or `schema.name` only: names go into SQL, so nothing else passes."""
    if not IDENTIFIER.fullmatch(value):
        raise ValueError(
            f"{value!r} is not a table name (letters, digits, _; schema.name)"
        )
    return value


def column_name(value: str) -> str:
    if not IDENTIFIER.fullmatch(value) or "." in value:
        raise ValueError(f"{value!r} is not a column name (letters, digits and _)")
    return value


def table(name: str, *columns: sa.ColumnClause) -> sa.TableClause:
    """A lightweight table for queries; quoting is left to SQLAlchemy."""
    schema, _, bare = name.rpartition(".")
    return sa.table(bare, *columns, schema=schema or None)


TableName = Annotated[str, AfterValidator(table_name)]
ColumnName = Annotated[str, AfterValidator(column_name)]


class DatabaseProbe(Probe):
    def engine(self) -> sa.Engine:
        return self.context.engine(self.options.url_env, self.service.timeout)


def describe_error(error: sa.exc.SQLAlchemyError) -> str:
    """The driver's first line ("connection refused", "relation ... does not exist").

    SQLAlchemy's own text adds the SQL and a link; the first line of the driver's
    message is what an operator needs.
    """
    original = getattr(error, "orig", None) or error
    first_line = (str(original).strip().splitlines() or [type(original).__name__])[0]
    return first_line[:200]


def as_utc(value: Any) -> datetime | None:
    """A stored timestamp as an aware UTC instant; the contract says naive means UTC.

    SQLite hands timestamps back as text, so text is parsed too.
    """
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if not isinstance(value, datetime):
        raise TypeError(f"expected a timestamp, got {type(value).__name__}")
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
