"""`certify units import` and `certify units list`, as a provider admin would use them."""

from __future__ import annotations

import json

from sqlalchemy import func, select

from certify.units.models import CriterionTranslation, Unit
from certify.units.queries import find_unit
from tests.units.conftest import ALL_SEEDS, HKQF, SFIA_CELO_EN, SFIA_CELO_PL
from tests.units.test_malformed import snapshot


def test_import_every_seed_and_list_them_as_json(cli, seeds):
    result = cli("units", "import", *(str(seeds / name) for name in ALL_SEEDS))
    assert result.exit_code == 0, result.output
    assert f"{HKQF}: hkqf, framework HKQF, language en" in result.output
    assert "ITCSCR405A v1: created" in result.output
    assert "CELO-4 v1: translation added" in result.output

    listed = json.loads(cli("units", "list", "--format", "json").output)
    assert len(listed) == 13
    assert {
        "framework": "HKQF",
        "code": "ITCSCR405A",
        "version": 1,
        "title": "Supervise the carrying out of loyalty marketing to increase customer loyalty "
        "and enhance CRM",
        "level": 4,
        "credits": 3,
        "status": "current",
    } in listed
    assert {row["code"] for row in listed if row["framework"] == "SFIA9"} == {
        *(f"CELO-{n}" for n in range(3, 7)),
        *(f"CEXP-{n}" for n in range(2, 7)),
    }
    assert all(row["credits"] is None for row in listed if row["framework"] != "HKQF")


def test_list_filters_and_table(cli, seeds):
    cli("units", "import", str(seeds / HKQF), str(seeds / SFIA_CELO_EN))
    table = cli("units", "list").output
    assert "ITCSCR405A" in table and "CELO-3" in table
    only = json.loads(cli("units", "list", "--format", "json", "--framework", "HKQF").output)
    assert [row["code"] for row in only] == ["ITCSCR405A"]
    found = json.loads(cli("units", "list", "--format", "json", "--search", "loyalty: level 5")
                       .output)
    assert [row["code"] for row in found] == ["CELO-5"]


def test_list_on_an_empty_catalogue(cli):
    assert "No units. Import some with: certify units import PATH..." in cli("units", "list").output
    assert json.loads(cli("units", "list", "--format", "json").output) == []


def test_each_file_is_all_or_nothing(cli, session, seeds, tmp_path):
    broken = tmp_path / "broken.txt"
    broken.write_text((seeds / HKQF).read_text().replace("4. Level\t4", "4. Level\tX"))
    result = cli("units", "import", str(broken), str(seeds / SFIA_CELO_EN))
    assert result.exit_code == 1
    assert "error: broken.txt, line 8, field 'Level': expected a QF level from 1 to 7" in (
        result.output
    )
    # The good file beside it is imported; the broken one left nothing behind.
    assert "CELO-3 v1: created" in result.output
    assert find_unit(session, "ITCSCR405A") == []
    assert session.scalar(select(func.count(Unit.id))) == 4


def test_a_failure_late_in_a_file_rolls_back_its_earlier_units(cli, session, seeds, tmp_path):
    cli("units", "import", str(seeds / SFIA_CELO_EN))
    before = snapshot(session)
    polish = (seeds / SFIA_CELO_PL).read_text()
    # Level 5 gains a sentence: levels 3 and 4 align and are written first, then level 5 fails.
    broken = tmp_path / "celo-pl.txt"
    sentence = "Wykorzystuje zaawansowaną analitykę"
    broken.write_text(polish.replace(sentence, f"Dodatkowe zdanie. {sentence}"))
    result = cli("units", "import", str(broken))
    assert result.exit_code == 1
    assert "celo-pl.txt, field 'CELO-5': CELO-5: the pl text has 8 statements but version 1 " \
        "of the unit has 7" in result.output
    assert snapshot(session) == before
    assert session.scalar(select(func.count(CriterionTranslation.id))) == 0


def test_importing_twice_reports_unchanged(cli, seeds):
    cli("units", "import", str(seeds / HKQF))
    result = cli("units", "import", str(seeds / HKQF))
    assert result.exit_code == 0
    assert "ITCSCR405A v1: unchanged" in result.output


def test_missing_and_oversized_files(cli, app, session, tmp_path):
    result = cli("units", "import", str(tmp_path / "nope.txt"))
    assert result.exit_code == 1
    assert "nope.txt: cannot be read (No such file or directory)" in result.output
    big = tmp_path / "big.txt"
    limit = app.config["MAX_IMPORT_MB"] * 1024 * 1024
    with big.open("wb") as handle:
        handle.truncate(limit + 1)
    before = snapshot(session)
    result = cli("units", "import", str(big))
    assert result.exit_code == 1
    assert f"big.txt: the file is {limit + 1:,} bytes; documents larger than {limit:,} bytes " \
        "are refused (CERTIFY_MAX_IMPORT_MB)" in result.output
    assert snapshot(session) == before


def test_demo_data_loads_once(cli):
    first = cli("demo", "load", "--if-empty")
    assert first.exit_code == 0
    assert "Demo data: 4 units loaded." in first.output
    assert "Demo logins (password: " in first.output
    second = cli("demo", "load", "--if-empty")
    assert "already has data; nothing loaded" in second.output
    # Each later `make run` still shows how to sign in.
    assert "Demo logins (password: harbour-demo-2026): admin@harbour.example" in second.output
    codes = [row["code"] for row in json.loads(cli("units", "list", "--format", "json").output)]
    assert "DEMOCS301A" in codes
