"""Certificate numbers: format, check digit, typed input, and uniqueness under concurrency."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy.orm import Session

from certify.accounts.operations import people
from certify.certificates import numbering
from certify.extensions import db


def test_numbers_carry_prefix_year_sequence_and_a_luhn_check_digit():
    number = numbering.format_number("NCOL", 2026, 42)
    assert number.startswith("NCOL-2026-000042-")
    check = int(number[-1])
    assert check == numbering.luhn_digit("2026000042")
    assert numbering.normalise_number(number) == number


@pytest.mark.parametrize("position", range(10))
def test_every_single_digit_typo_is_caught_by_the_check_digit(position):
    number = numbering.format_number("NCOL", 2026, 123456)
    digits = number.replace("-", "")[4:-1]
    body = list(digits)
    body[position] = str((int(body[position]) + 3) % 10)
    typed = f"NCOL-{''.join(body[:4])}-{''.join(body[4:])}-{number[-1]}"
    with pytest.raises(numbering.MalformedNumber, match="check digit"):
        numbering.normalise_number(typed)


def test_typed_numbers_are_tidied_and_bad_ones_explained():
    number = numbering.format_number("NCOL", 2026, 7)
    assert numbering.normalise_number(f"  {number.lower()} ") == number
    assert numbering.normalise_number(number.replace("-", "\u2013")) == number
    with pytest.raises(numbering.MalformedNumber, match="Enter the certificate number"):
        numbering.normalise_number("   ")
    with pytest.raises(numbering.MalformedNumber, match="is not a certificate number"):
        numbering.normalise_number("<script>alert(1)</script>")
    with pytest.raises(numbering.MalformedNumber, match="is not a certificate number"):
        numbering.normalise_number("NCOL-26-1-1")


def test_verification_codes_hold_at_least_128_random_bits():
    codes = {numbering.verification_code() for _ in range(1000)}
    assert len(codes) == 1000
    # base64url: 6 bits a character.
    assert all(len(code) * 6 >= 128 for code in codes)


def test_counters_start_at_one_and_count_per_name(app, session, provider):
    with app.app_context():
        assert numbering.next_number(session, provider.id, "NCOL", 2026) == (
            numbering.format_number("NCOL", 2026, 1), 1)
        assert numbering.next_number(session, provider.id, "NCOL", 2026)[1] == 2
        assert numbering.next_number(session, provider.id, "NCOL", 2027)[1] == 1
        assert numbering.next_status_index(session, provider.id) == 0
        assert numbering.next_status_index(session, provider.id) == 1


def test_concurrent_issuers_never_share_a_number(real_app, real_session):
    """Eight connections take numbers at once, each in its own committed transaction."""
    provider = people.create_provider(real_session, "Racing College", "racing", "RC")
    real_session.commit()
    engine = db.state(real_app).engine
    numbers: list[str] = []
    errors: list[BaseException] = []
    barrier = threading.Barrier(8)

    def take() -> None:
        try:
            barrier.wait()
            for _ in range(10):
                with Session(engine) as own:
                    number, _sequence = numbering.next_number(own, provider.id, "RC", 2026)
                    own.commit()
                    numbers.append(number)
        except BaseException as error:  # the assertions below report it
            errors.append(error)

    threads = [threading.Thread(target=take) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert len(set(numbers)) == len(numbers) == 80
    assert sorted(int(n.split("-")[2]) for n in numbers) == list(range(1, 81))
    assert numbering.counter_value(real_session, provider.id, "number-2026") == 80
