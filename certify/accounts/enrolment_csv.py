"""Reading a file of enrolments: CSV with the columns name, email and unit codes.

This module only reads.  A file it cannot read as a whole (too large, not UTF-8
text, binary, empty, no header, a column missing, a quote never closed, too many
rows) raises ``UnreadableFile`` with one message naming the problem and the
line, and nothing is enrolled.  Otherwise it returns every data row as text,
for the enrolment operations to check row by row.

Cells are kept as plain text: nothing here (or anywhere later) evaluates a cell
that starts with ``=``, ``+``, ``-`` or ``@``.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass, field

MAX_BYTES = 2 * 1024 * 1024
MAX_ROWS = 5000
DELIMITERS = (",", ";")

# Header names, after lower-casing and turning runs of spaces, "_" and "-" into one space.
COLUMNS: dict[str, frozenset[str]] = {
    "name": frozenset({"name", "full name", "candidate name"}),
    "email": frozenset({"email", "email address", "e mail", "e mail address"}),
    "unit codes": frozenset({"unit codes", "unit code", "units", "unit"}),
}

_SEPARATORS = re.compile(r"[;,\s]+")


class UnreadableFile(ValueError):
    """The file cannot be read as a whole; ``str()`` says why and where."""

    def __init__(self, message: str, line: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.line = line

    def __str__(self) -> str:
        return f"line {self.line}: {self.message}" if self.line else self.message


@dataclass(frozen=True)
class CsvRow:
    """One data row as written in the file; ``line`` is where it starts (the header is 1)."""

    line: int
    name: str
    email: str
    units: str
    # Filled cells beyond the header's: usually unit codes that were not put in quotes.
    extra_cells: int = 0

    @property
    def unit_codes(self) -> list[str]:
        return split_unit_codes(self.units)


@dataclass
class CsvFile:
    rows: list[CsvRow] = field(default_factory=list)
    delimiter: str = ","
    header_line: int = 1
    # How many cells the header has; a row with more has unit codes that were not quoted.
    width: int = 3


def split_unit_codes(cell: str) -> list[str]:
    """The codes in a "unit codes" cell (separated by ";", "," or spaces), each once."""
    seen: dict[str, str] = {}
    for code in _SEPARATORS.split(cell.strip()):
        if code:
            seen.setdefault(code.upper(), code)
    return list(seen.values())


def _line_of(data: bytes, offset: int) -> int:
    return data.count(b"\n", 0, offset) + 1


def decode(data: bytes, max_bytes: int = MAX_BYTES) -> str:
    """The file's text: UTF-8, with or without a byte order mark, and nothing else."""
    if len(data) > max_bytes:
        raise UnreadableFile(
            f"the file is larger than {max_bytes:,} bytes ({max_bytes / 1024 / 1024:g} MB); "
            "split it into smaller files"
        )
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise UnreadableFile(
            "the file is UTF-16 text; save it as CSV UTF-8 (comma delimited)", 1
        )
    nul = data.find(b"\0")
    if nul >= 0:
        raise UnreadableFile(
            "the file contains binary data (a NUL byte), not CSV text", _line_of(data, nul)
        )
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        bad = data[error.start : error.start + 1].hex().upper()
        raise UnreadableFile(
            f"the file is not UTF-8 text (byte 0x{bad} cannot be read); save it as "
            "CSV UTF-8 (comma delimited) and upload it again",
            _line_of(data, error.start),
        ) from None
    if not text.strip():
        raise UnreadableFile("the file is empty")
    return text


def _column_key(cell: str) -> str:
    return " ".join(re.split(r"[\s_\-]+", cell.strip().lower())).strip()


def _records(text: str, delimiter: str) -> Iterator[tuple[int, list[str]]]:
    """(line where the record starts, cells); blank lines are skipped."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    while True:
        start = reader.line_num + 1
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as error:
            raise _csv_problem(error, start, delimiter) from None
        if any(cell.strip() for cell in cells):
            yield start, cells


def _csv_problem(error: csv.Error, line: int, delimiter: str) -> UnreadableFile:
    message = str(error)
    if "unexpected end of data" in message:
        return UnreadableFile("a quoted cell starts on this line and is never closed", line)
    if "expected after" in message:
        return UnreadableFile(
            f"a quote inside a cell is not doubled; put the whole cell in quotes "
            f'and write a quote inside it as "" (the cells are separated by "{delimiter}")',
            line,
        )
    if "field larger than field limit" in message:
        return UnreadableFile(
            f"a cell is longer than {csv.field_size_limit():,} characters", line
        )
    return UnreadableFile(f"the CSV cannot be read ({message})", line)


def _header_columns(cells: list[str], line: int) -> dict[str, int]:
    """Where each required column is; raises UnreadableFile for a duplicated one."""
    found: dict[str, int] = {}
    for index, cell in enumerate(cells):
        key = _column_key(cell)
        for column, names in COLUMNS.items():
            if key in names:
                if column in found:
                    raise UnreadableFile(
                        f'the header has the column "{column}" twice (columns {found[column] + 1} '
                        f"and {index + 1})",
                        line,
                    )
                found[column] = index
    return found


def _first_record(text: str, delimiter: str) -> tuple[int, list[str]]:
    # Only the header's own line(s) are read here; the rest waits for the chosen delimiter.
    for line, cells in _records(text, delimiter):
        return line, cells
    raise UnreadableFile("the file is empty")


def _choose_delimiter(text: str) -> tuple[str, int, list[str], dict[str, int]]:
    """The delimiter ("," or ";") under which the header names every required column."""
    attempts = []
    for delimiter in DELIMITERS:
        try:
            line, cells = _first_record(text, delimiter)
        except UnreadableFile as error:
            attempts.append((delimiter, None, None, error))
            continue
        columns = _header_columns(cells, line)
        if len(columns) == len(COLUMNS):
            return delimiter, line, cells, columns
        attempts.append((delimiter, line, cells, columns))
    # Report against the reading that found most columns (commas when it is a tie).
    readable = [a for a in attempts if a[1] is not None]
    if not readable:
        raise attempts[0][3]
    delimiter, line, cells, columns = max(readable, key=lambda a: len(a[3]))
    missing = [c for c in COLUMNS if c not in columns]
    shown = ", ".join(f'"{_shorten(c.strip(), 40)}"' for c in cells[:8] if c.strip())
    names = " and ".join(f'"{m}"' for m in missing)
    raise UnreadableFile(
        f"the first line must be a header naming the columns name, email and unit codes "
        f"(separated by commas or semicolons); there is no {names} column "
        f"(found: {shown or 'nothing'})",
        line,
    )


def _shorten(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def read_enrolment_csv(
    data: bytes, *, max_bytes: int = MAX_BYTES, max_rows: int = MAX_ROWS
) -> CsvFile:
    """Read ``data`` as an enrolment file, or raise ``UnreadableFile``.

    The header may name its columns in any case and spacing ("Email", " unit
    codes ", "Unit_Codes") and in any order; other columns are ignored.  Cells
    are separated by commas or, when the header says so, by semicolons.
    """
    text = decode(data, max_bytes)
    delimiter, header_line, header, columns = _choose_delimiter(text)
    result = CsvFile(delimiter=delimiter, header_line=header_line, width=len(header))
    records = _records(text, delimiter)
    next(records)  # the header
    for line, cells in records:
        if len(result.rows) >= max_rows:
            raise UnreadableFile(
                f"the file has more than {max_rows:,} rows; split it into files of at most "
                f"{max_rows:,} rows",
                line,
            )

        def cell(column: str, cells: list[str] = cells) -> str:
            index = columns[column]
            return cells[index] if index < len(cells) else ""

        result.rows.append(
            CsvRow(line=line, name=cell("name"), email=cell("email"), units=cell("unit codes"),
                   extra_cells=sum(1 for c in cells[len(header):] if c.strip()))
        )
    if not result.rows:
        raise UnreadableFile("the file has a header but no rows of candidates", header_line)
    return result

