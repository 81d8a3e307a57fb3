"""The HK QF Award Titles Scheme as data, and the generic checks every framework gets."""

from __future__ import annotations

import pytest

from certify.units.award_titles import (
    HKQF_TITLES,
    allowed_levels,
    applies_hk_rules,
    award_title_of,
    check_award_title,
    titles_at,
)
from certify.units.models import Framework, FrameworkKind, FrameworkLevel

HKQF = Framework(code="HKQF", name="Hong Kong Qualifications Framework",
                 kind=FrameworkKind.QF_UNITS, hours_per_credit=10)
SFIA = Framework(code="SFIA9", name="SFIA 9", kind=FrameworkKind.SKILL_LEVELS,
                 levels=[FrameworkLevel(level=n) for n in range(1, 8)])
CAPABILITY = Framework(code="CAPDIR", name="Capability Directory",
                       kind=FrameworkKind.PROFICIENCY_LEVELS,
                       levels=[FrameworkLevel(level=n) for n in (1, 2, 3)])
# Same code, other kind: the HK rules are about units of competency only.
NOT_QF = Framework(code="HKQF", name="Look-alike", kind=FrameworkKind.SKILL_LEVELS)
BARE = Framework(code="LOCAL", name="Local units", kind=FrameworkKind.QF_UNITS)


def test_the_scheme_has_fifteen_titles_at_levels_one_to_seven():
    assert len(HKQF_TITLES) == len({t.name for t in HKQF_TITLES}) == 15
    assert all(1 <= level <= 7 for t in HKQF_TITLES for level in t.levels)
    assert {t.name for t in titles_at(7)} == {"Doctor"}
    assert {"Master", "Postgraduate Diploma", "Postgraduate Certificate"} <= {
        t.name for t in titles_at(6)}
    assert "Bachelor" in {t.name for t in titles_at(5)}
    assert {"Associate Degree", "Higher Diploma"} <= {t.name for t in titles_at(4)}
    assert {t.name for t in titles_at(1)} == {"Certificate", "Diploma", "Foundation Certificate",
                                               "Foundation Diploma"}


def test_only_the_hong_kong_qf_gets_its_rules():
    assert applies_hk_rules(HKQF)
    assert not applies_hk_rules(NOT_QF)
    assert not applies_hk_rules(SFIA)
    assert allowed_levels(HKQF) == [1, 2, 3, 4, 5, 6, 7]
    assert allowed_levels(CAPABILITY) == [1, 2, 3]
    assert allowed_levels(BARE) is None


@pytest.mark.parametrize(("title", "level", "credits"), [
    ("Diploma in Customer Relationship Management", 3, 60),
    ("Diploma in Customer Relationship Management", 3, 240),
    ("Certificate in Loyalty Programmes", 3, 3),  # a Certificate has no minimum
    ("Foundation Certificate in Retail", 1, 6),
    ("Foundation Diploma in Retail", 2, 60),
    ("Higher Diploma in Marketing", 4, 240),
    ("Associate Degree in Business", 4, 240),
    ("Associate of Arts in Business", 4, 240),
    ("Advanced Certificate in CRM", 4, 12),
    ("Professional Diploma in Customer Experience", 5, 60),
    ("Bachelor of Business Administration (Honours)", 5, 480),
    ("Master of Science in Marketing", 6, 120),
    ("Postgraduate Certificate in Data Protection", 6, 20),
    ("Doctor of Philosophy", 7, 360),
    ("  diploma   IN lower case  ", 2, 60),
])
def test_titles_the_scheme_allows(title, level, credits):
    assert check_award_title(title, level, credits, HKQF) == []


def test_a_diploma_with_twelve_credits_is_refused_naming_the_sixty_credit_rule():
    [problem] = check_award_title("Diploma in Customer Loyalty", 3, 12, HKQF)
    assert "at least 60 QF credits" in problem
    assert "guarantee only 12" in problem
    assert "Certificate" in problem  # what to do instead


def test_every_diploma_title_needs_sixty_credits():
    for title, level in (("Higher Diploma in CRM", 4), ("Postgraduate Diploma in CRM", 6),
                         ("Foundation Diploma in CRM", 1), ("Advanced Diploma in CRM", 5)):
        [problem] = check_award_title(title, level, 59, HKQF)
        assert "at least 60 QF credits" in problem, title


def test_a_title_at_the_wrong_level_names_the_titles_of_that_level():
    [problem] = check_award_title("Bachelor of Arts", 4, 240, HKQF)
    assert "“Bachelor” is an award title for QF level 5" in problem
    assert "not for level 4" in problem and "Associate Degree" in problem
    problems = check_award_title("Diploma in CRM", 4, 12, HKQF)
    assert "QF levels 1 to 3" in problems[0] and "Higher Diploma" in problems[0]
    assert "at least 60 QF credits" in problems[1]
    assert "“Master” is an award title for QF level 6" in check_award_title(
        "Master of Arts", 7, 100, HKQF)[0]


def test_award_is_not_an_hk_qf_title():
    [problem] = check_award_title("Award in Customer Service", 2, 3, HKQF)
    assert "“Award” is not an award title of the HK QF Award Titles Scheme" in problem
    assert "Certificate" in problem


def test_a_title_not_beginning_with_an_award_title():
    [problem] = check_award_title("Customer Loyalty Programme", 4, 12, HKQF)
    assert "begins with its award title" in problem
    assert "Advanced Certificate" in problem
    # A word that merely starts like a title is not one.
    assert award_title_of("Diplomatic Certificate") is None
    assert award_title_of("Higher Diploma in X").name == "Higher Diploma"
    assert award_title_of("Certificates of Merit") is None


def test_levels_outside_the_framework():
    [problem] = check_award_title("Diploma in CRM", 9, 60, HKQF)
    assert problem == ("Level 9 is not a level of the Hong Kong Qualifications Framework "
                       "(HKQF); its levels are 1 to 7.")
    assert "its levels are 1 to 3" in check_award_title("Anything", 5, 0, CAPABILITY)[0]
    assert "its levels are 1 to 7" in check_award_title("Anything", 0, 0, SFIA)[0]


def test_other_frameworks_get_only_the_generic_checks():
    assert check_award_title("Award in Anything at All", 3, 0, SFIA) == []
    assert check_award_title("Diploma in CRM", 3, 1, NOT_QF) == []
    assert check_award_title("Local Award", 12, 0, BARE) == []
    assert check_award_title("Local Award", 0, 0, BARE) == [
        "The level is a whole number from 1 up."]
    assert check_award_title("   ", 3, 0, SFIA) == ["Give the qualification a title."]
    assert check_award_title("", 3, 0, HKQF) == ["Give the qualification a title."]
