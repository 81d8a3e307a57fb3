"""Award titles: which title a qualification may carry at its level and size.

Every framework gets the generic checks: a title is given, and the level is
one of the framework's levels.  Frameworks of kind ``qf_units`` coded HKQF also
get the rules of the Hong Kong QF **Award Titles Scheme** (ATS), introduced by
the Education Bureau in 2012 and published by the Qualifications Framework
Secretariat at https://hkqf.gov.hk/en/qf-ats ("Explanations of ATS"), with the
typical titles per level listed by the Qualifications Register at
https://www.hkqr.gov.hk/HKQR/qrLevelExplanation.jsp:

- QF levels run from 1 to 7; one QF credit is ten notional learning hours.
- A "Diploma" programme carries 60 QF credits or more.  We read this for
  every Diploma title (Foundation, Higher, Advanced, Professional,
  Postgraduate), since each is a Diploma with a qualifier.
- A "Certificate" has no minimum credit requirement.
- Levels 1 and 2 may use the qualifier "Foundation"; levels 4 to 6 may use
  "Higher", "Advanced", "Professional" and "Postgraduate".
- Degree titles keep their traditional levels: Associate Degree at level 4,
  Bachelor at 5, Master at 6, Doctor at 7.
- A title outside the scheme needs the Education Bureau's approval, so it is
  refused here.  "Award", the smallest size in the UK's frameworks, is not an
  HK QF award title.

A title is the award title followed by the area of study ("Diploma in
Customer Relationship Management", "Master of Science in ..."), so the award
title is read from the title's beginning.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from certify.units.models import FrameworkKind

SOURCE = "https://hkqf.gov.hk/en/qf-ats"
SCHEME = "HK QF Award Titles Scheme"
HKQF_LEVELS = range(1, 8)
DIPLOMA_CREDITS = 60


@dataclass(frozen=True)
class AwardTitle:
    """One award title of the scheme, the QF levels it may be used at and its least size."""

    name: str
    levels: range
    min_credits: int = 0
    # Other ways the scheme's titles are written ("Associate of Arts in ...").
    aliases: tuple[str, ...] = ()

    @property
    def level_words(self) -> str:
        first, last = self.levels[0], self.levels[-1]
        return f"QF level {first}" if first == last else f"QF levels {first} to {last}"


_QUALIFIED = range(4, 7)  # "Higher", "Advanced", "Professional", "Postgraduate"
_FOUNDATION = range(1, 3)
_PLAIN = range(1, 4)

HKQF_TITLES: tuple[AwardTitle, ...] = (
    AwardTitle("Doctor", range(7, 8)),
    AwardTitle("Master", range(6, 7)),
    AwardTitle("Postgraduate Diploma", _QUALIFIED, DIPLOMA_CREDITS),
    AwardTitle("Postgraduate Certificate", _QUALIFIED),
    AwardTitle("Bachelor", range(5, 6)),
    AwardTitle("Professional Diploma", _QUALIFIED, DIPLOMA_CREDITS),
    AwardTitle("Advanced Diploma", _QUALIFIED, DIPLOMA_CREDITS),
    AwardTitle("Professional Certificate", _QUALIFIED),
    AwardTitle("Advanced Certificate", _QUALIFIED),
    AwardTitle("Associate Degree", range(4, 5), aliases=("Associate of",)),
    AwardTitle("Higher Diploma", _QUALIFIED, DIPLOMA_CREDITS),
    AwardTitle("Diploma", _PLAIN, DIPLOMA_CREDITS),
    AwardTitle("Certificate", _PLAIN),
    AwardTitle("Foundation Diploma", _FOUNDATION, DIPLOMA_CREDITS),
    AwardTitle("Foundation Certificate", _FOUNDATION),
)

# Words that name a size or kind of award in other schemes, so that a title built
# on one of them gets a message about the scheme rather than a generic one.
_FOREIGN_WORDS = ("Award", "Higher Certificate", "Graduate Certificate", "Graduate Diploma",
                  "Executive Certificate", "Executive Diploma", "Extended Diploma")


def applies_hk_rules(framework: Any) -> bool:
    """Whether ``framework`` is the Hong Kong QF, whose award titles follow the ATS."""
    return (framework is not None and framework.kind == FrameworkKind.QF_UNITS
            and (framework.code or "").upper() == "HKQF")


def allowed_levels(framework: Any) -> list[int] | None:
    """The levels a qualification of ``framework`` may be at; None when any level 1+ is."""
    if applies_hk_rules(framework):
        return list(HKQF_LEVELS)
    levels = sorted(level.level for level in getattr(framework, "levels", None) or [])
    return levels or None


def _span(levels: list[int]) -> str:
    if levels == list(range(levels[0], levels[-1] + 1)):
        return f"{levels[0]} to {levels[-1]}" if len(levels) > 1 else str(levels[0])
    return ", ".join(str(n) for n in levels)


def level_problems(level: int | None, framework: Any) -> list[str]:
    """Whether ``level`` is one of ``framework``'s levels, in plain words."""
    if level is None:
        return ["Give the qualification's level."]
    levels = allowed_levels(framework)
    if levels is None:
        return [] if level >= 1 else ["The level is a whole number from 1 up."]
    if level not in levels:
        name = f"{framework.name} ({framework.code})"
        return [f"Level {level} is not a level of the {name}; its levels are {_span(levels)}."]
    return []


def titles_at(level: int) -> list[AwardTitle]:
    """The scheme's award titles that may be used at QF ``level``."""
    return [title for title in HKQF_TITLES if level in title.levels]


def _normal(text: str) -> str:
    return " ".join(text.split()).casefold()


def award_title_of(title: str) -> AwardTitle | None:
    """The scheme's award title that ``title`` begins with (the longest that fits)."""
    text = _normal(title)
    best: tuple[int, AwardTitle] | None = None
    for award in HKQF_TITLES:
        for spelling in (award.name, *award.aliases):
            word = _normal(spelling)
            if re.match(rf"{re.escape(word)}(?!\w)", text) and (
                best is None or len(word) > best[0]
            ):
                best = (len(word), award)
    return best[1] if best else None


def _names(titles: list[AwardTitle]) -> str:
    return ", ".join(title.name for title in titles)


def title_problems(title: str, level: int | None, guaranteed_credits: int | None,
                   framework: Any) -> list[str]:
    """Problems with ``title`` for a qualification at ``level`` of ``framework``.

    ``guaranteed_credits`` is the least number of credits anyone who meets the
    qualification's rules holds; None when not known yet (the credit rule is
    then not checked).  Level problems are ``level_problems``' business.
    """
    title = " ".join((title or "").split())
    if not title:
        return ["Give the qualification a title."]
    if not applies_hk_rules(framework) or level is None or level not in HKQF_LEVELS:
        return []
    allowed = titles_at(level)
    example = f"for example “{allowed[0].name} in Customer Relationship Management”"
    award = award_title_of(title)
    if award is None:
        text = _normal(title)
        foreign = next((w for w in _FOREIGN_WORDS if text.startswith(_normal(w))), None)
        if foreign:
            return [f"“{foreign}” is not an award title of the {SCHEME}. At QF level {level} "
                    f"the title begins with one of: {_names(allowed)} ({example})."]
        return [f"Under the {SCHEME} the title begins with its award title; at QF level "
                f"{level} that is one of: {_names(allowed)} ({example})."]
    problems = []
    if level not in award.levels:
        problems.append(
            f"“{award.name}” is an award title for {award.level_words} under the {SCHEME}, "
            f"not for level {level}; at level {level} use one of: {_names(allowed)}."
        )
    if guaranteed_credits is not None and guaranteed_credits < award.min_credits:
        problems.append(
            f"A “{award.name}” needs at least {award.min_credits} QF credits under the "
            f"{SCHEME} (a Diploma carries 60 credits or more), but these rules guarantee "
            f"only {guaranteed_credits}. Raise the minimum credits or require more units, "
            "or use a Certificate title, which has no minimum."
        )
    return problems


def check_award_title(title: str, level: int, guaranteed_credits: int, framework: Any) -> list[str]:
    """Every problem with a qualification's title and level, in plain words; empty when fine.

    Any framework: a title is given and the level is one of its levels.  The HK QF
    (kind qf_units, code HKQF): the title begins with an award title of the
    Award Titles Scheme allowed at the level, and a Diploma guarantees 60 credits.
    """
    return [*level_problems(level, framework),
            *title_problems(title, level, guaranteed_credits, framework)]
