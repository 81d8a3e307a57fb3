"""Reading enrolment files: what is read, and every way a file is refused as unreadable."""

from __future__ import annotations

import codecs
import csv

import pytest

from certify.accounts.enrolment_csv import (
    MAX_BYTES,
    MAX_ROWS,
    UnreadableFile,
    read_enrolment_csv,
    split_unit_codes,
)


def unreadable(data: bytes, **kwargs) -> UnreadableFile:
    with pytest.raises(UnreadableFile) as caught:
        read_enrolment_csv(data, **kwargs)
    return caught.value


def rows(data: bytes) -> list[tuple[int, str, str, str]]:
    return [(r.line, r.name, r.email, r.units) for r in read_enrolment_csv(data).rows]


def test_reads_rows_with_their_line_numbers():
    data = (
        b"name,email,unit codes\n"
        b"Ann Lee,ann@example.org,ITCSCR405A\n"
        b"\n"
        b'Bo Chan,bo@example.org,"ITCSCR405A; DEMOCS301A"\n'
    )
    assert rows(data) == [
        (2, "Ann Lee", "ann@example.org", "ITCSCR405A"),
        (4, "Bo Chan", "bo@example.org", "ITCSCR405A; DEMOCS301A"),
    ]


def test_header_names_are_matched_in_any_case_spacing_and_order():
    data = b" Unit_Codes ;E-MAIL;  NAME  ;Notes\nX1;a@example.org;Ann;ignored\n"
    parsed = read_enrolment_csv(data)
    assert parsed.delimiter == ";"
    assert [(r.name, r.email, r.units, r.extra_cells) for r in parsed.rows] == [
        ("Ann", "a@example.org", "X1", 0)
    ]


def test_a_byte_order_mark_and_windows_line_ends_are_fine():
    data = codecs.BOM_UTF8 + "name,email,unit codes\r\nZoë Ng,zoe@example.org,A1\r\n".encode()
    assert rows(data) == [(2, "Zoë Ng", "zoe@example.org", "A1")]


def test_a_quoted_cell_may_span_lines_and_later_rows_keep_their_line_numbers():
    data = b'name,email,unit codes\nAnn,ann@example.org,"A1\nA2"\nBo,bo@example.org,A3\n'
    assert rows(data) == [(2, "Ann", "ann@example.org", "A1\nA2"),
                          (4, "Bo", "bo@example.org", "A3")]


def test_unit_codes_are_split_on_semicolons_commas_and_spaces_once_each():
    assert split_unit_codes(" A1; a2,A3  A4;;a1 , ") == ["A1", "a2", "A3", "A4"]
    assert split_unit_codes("HKQF:ITCSCR405A") == ["HKQF:ITCSCR405A"]
    assert split_unit_codes("   ") == []


def test_cells_beyond_the_header_are_counted():
    parsed = read_enrolment_csv(b"name,email,unit codes\nAnn,ann@example.org,A1,A2, ,A3\n")
    assert parsed.rows[0].extra_cells == 2


def test_short_rows_have_empty_cells():
    assert rows(b"name,email,unit codes\nAnn\n") == [(2, "Ann", "", "")]


def test_formula_cells_are_kept_as_plain_text():
    data = b"name,email,unit codes\n\"=cmd|' /C calc'!A0\",x@example.org,\"+SUM(1,2)\"\n"
    assert rows(data) == [(2, "=cmd|' /C calc'!A0", "x@example.org", "+SUM(1,2)")]


@pytest.mark.parametrize(("data", "message", "line"), [
    (b"", "the file is empty", None),
    (b"  \r\n\n ", "the file is empty", None),
    (codecs.BOM_UTF8, "the file is empty", None),
    (b"name,email,unit codes\n", "the file has a header but no rows of candidates", 1),
    (b"name,email,unit codes\n\n,,\n", "the file has a header but no rows of candidates", 1),
])
def test_empty_files_are_unreadable(data, message, line):
    error = unreadable(data)
    assert error.message == message
    assert error.line == line


def test_a_latin1_file_is_unreadable_and_the_line_is_named():
    data = "name,email,unit codes\nAnn,ann@example.org,A1\nJosé,jose@example.org,A1\n".encode(
        "latin-1")
    error = unreadable(data)
    assert error.line == 3
    assert "not UTF-8 text (byte 0xE9" in error.message
    assert str(error).startswith("line 3: the file is not UTF-8 text")


def test_utf16_is_unreadable():
    data = "name,email,unit codes\nAnn,ann@example.org,A1\n".encode("utf-16")
    assert "UTF-16" in unreadable(data).message


def test_binary_data_is_unreadable():
    error = unreadable(b"name,email,unit codes\nAnn,ann@example.org,A1\nB\x00b,x,y\n")
    assert error.line == 3
    assert "binary data (a NUL byte)" in error.message
    assert "binary data" in unreadable(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR").message


def test_a_file_without_a_header_is_unreadable():
    error = unreadable(b"Ann Lee,ann@example.org,ITCSCR405A\n")
    assert error.line == 1
    assert 'there is no "name" and "email" and "unit codes" column' in error.message
    assert '(found: "Ann Lee", "ann@example.org", "ITCSCR405A")' in error.message


def test_a_missing_column_is_named():
    error = unreadable(b"name,e-mail address\nAnn,ann@example.org\n")
    assert 'there is no "unit codes" column' in error.message


def test_a_tab_separated_file_is_refused_clearly():
    error = unreadable(b"name\temail\tunit codes\nAnn\tann@example.org\tA1\n")
    assert "separated by commas or semicolons" in error.message
    assert error.line == 1


def test_a_column_named_twice_is_unreadable():
    error = unreadable(b"name,email,unit codes,Email\nAnn,a@example.org,A1,b@example.org\n")
    assert error.message == 'the header has the column "email" twice (columns 2 and 4)'


def test_a_quote_never_closed_is_unreadable_at_the_line_it_opens():
    data = b'name,email,unit codes\nAnn,ann@example.org,A1\nBo,"bo@example.org,A1\nCy,c@x.org,A1\n'
    error = unreadable(data)
    assert error.line == 3
    assert error.message == "a quoted cell starts on this line and is never closed"


def test_text_after_a_closing_quote_is_unreadable():
    error = unreadable(b'name,email,unit codes\n"Ann" Lee,ann@example.org,A1\n')
    assert error.line == 2
    assert 'write a quote inside it as ""' in error.message


def test_a_cell_beyond_the_csv_field_limit_is_unreadable():
    huge = b"x" * (csv.field_size_limit() + 10)
    error = unreadable(b"name,email,unit codes\nAnn,ann@example.org,A1\n" + huge + b",a,b\n")
    assert error.line == 3
    assert "a cell is longer than" in error.message


def test_a_long_field_within_the_limit_is_read_for_the_row_check():
    name = "N" * 50_000
    parsed = read_enrolment_csv(f"name,email,unit codes\n{name},a@example.org,A1\n".encode())
    assert parsed.rows[0].name == name


def test_files_over_two_megabytes_are_refused_before_reading():
    assert MAX_BYTES == 2 * 1024 * 1024
    data = b"name,email,unit codes\n" + b"Ann,ann@example.org,A1\n" * 100_000
    assert len(data) > MAX_BYTES
    error = unreadable(data)
    assert error.line is None
    assert "larger than 2,097,152 bytes (2 MB)" in error.message


def test_the_row_limit():
    assert MAX_ROWS == 5000
    header = b"name,email,unit codes\n"
    rows_ok = b"".join(f"P{n},p{n}@example.org,A1\n".encode() for n in range(MAX_ROWS))
    assert len(read_enrolment_csv(header + rows_ok).rows) == MAX_ROWS
    ten_thousand = b"".join(f"P{n},p{n}@example.org,A1\n".encode() for n in range(10_000))
    error = unreadable(header + ten_thousand)
    assert error.line == MAX_ROWS + 2
    assert error.message == "the file has more than 5,000 rows; split it into files of at most " \
        "5,000 rows"


def test_a_semicolon_file_keeps_commas_inside_cells():
    data = b'name;email;unit codes\n"Lee, Ann";ann@example.org;A1, A2\n'
    parsed = read_enrolment_csv(data)
    assert parsed.delimiter == ";"
    assert parsed.rows[0].name == "Lee, Ann"
    assert parsed.rows[0].unit_codes == ["A1", "A2"]
