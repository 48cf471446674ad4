"""Is a review's pseudonym safe? A review names the child by a pseudonym ("Child K", "Baby Y", a first name that
is not theirs) or, for a thematic review, by its theme. One that looks like a person's full name or holds a date
of birth is refused with an explanation.

The name rule: two or more capitalised words side by side ("John Smith", "SMITH, John", "J. Smith",
"Aaliyah O'Neill") look like a full name, unless they are words reviews are titled with (Child, Baby, Young
person, Siblings, Family, review, thematic, neglect...). Words in lower case never count, so a title such as
"Thematic review: neglect in adolescents" passes, and a place or a title refused as a name can be written with
its later words in lower case. A single first name ("Jayden") passes: it is a pseudonym when it is not theirs.
"""

from __future__ import annotations

import re
import unicodedata

from ..core.identifiers import DATE_OF_BIRTH_WORDS, has_date, has_nhs_number

MAX_LENGTH = 80

#: words reviews and pseudonyms are made of, never part of a person's name (compared in lower case)
TITLE_WORDS = {
    # who
    "child", "children", "baby", "babies", "infant", "infants", "young", "person", "people", "sibling", "siblings",
    "family", "families", "adolescent", "adolescents", "teenager", "teenagers", "boy", "boys", "girl", "girls",
    "twin", "twins", "adult", "adults", "mother", "father", "parent", "parents", "carer", "carers", "unborn",
    "brother", "brothers", "sister", "sisters", "case", "yp",
    # what kind of review
    "review", "reviews", "thematic", "rapid", "joint", "local", "learning", "practice", "safeguarding",
    "serious", "incident", "incidents", "multi", "agency", "multi-agency", "partnership", "child's", "children's",
    "domestic", "homicide", "adult's", "lcspr", "dhr", "sar", "operation",
    # what it is about
    "neglect", "abuse", "physical", "sexual", "emotional", "exploitation", "criminal", "violence", "harm",
    "self-harm", "suicide", "death", "deaths", "sudden", "unexpected", "infancy", "injury", "injuries",
    "non-accidental", "head", "bruising", "drowning", "online", "county", "lines", "knife", "crime", "gang",
    "gangs", "missing", "education", "home", "school", "mental", "health", "substance", "misuse", "drugs",
    "alcohol", "disabled", "disability", "disabilities", "care", "leavers", "leaver", "looked", "after",
    "private", "fostering", "sleep", "safe", "sleeping", "co-sleeping", "bruise", "fire", "parental",
    "conflict", "trafficking", "radicalisation", "extremism", "fabricated", "induced", "illness",
    # joining words
    "a", "an", "and", "or", "the", "of", "in", "on", "for", "with", "to", "by", "from", "about", "at", "into",
    "under", "over", "aged", "not", "their", "his", "her", "its", "our",
}  # fmt: skip

#: a word: letters with apostrophes and hyphens inside, or a run of digits
TOKEN = re.compile(r"[^\W\d_]+(?:['\u2019\-][^\W\d_]+)*\.?|\d+|[^\s\w]", re.UNICODE)
#: what may stand between two words of one name: "SMITH, John", "J. Smith"
NAME_JOINERS = {",", "."}

FULL_NAME = (
    "The pseudonym looks like a person's full name: use a pseudonym such as Child K, not the child's name. "
    "If it is a place or a title, write the words after the first in lower case"
)
DATE_OF_BIRTH = (
    "The pseudonym holds a date or a date of birth: leave dates out of it and enter them in the review's date boxes"
)
NHS = "The pseudonym looks like an NHS number: use a pseudonym such as Child K"


def _looks_like_a_full_name(text: str) -> bool:
    """Two or more capitalised words side by side (a single letter counts as an initial beside a word), none
    of them a title word."""
    run: list[str] = []
    for token in TOKEN.findall(text):
        if token in NAME_JOINERS:
            continue
        word = token.rstrip(".")
        namelike = (
            word[:1].isalpha()
            and word[:1].isupper()
            and word.lower() not in TITLE_WORDS
            and not (word.isupper() and 1 < len(word) <= 3)  # CSE, NHS, LA: codes
        )
        if not namelike:
            run = []
            continue
        run.append(word)
        if len(run) >= 2 and any(len(w) > 1 for w in run):
            return True
    return False


def pseudonym_problem(text: str | None) -> str | None:
    """Why a review's pseudonym is refused, or None when it is acceptable."""
    raw = text or ""
    if any(unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp") for ch in raw):
        return "The pseudonym has a line break or another invisible character: type it on one line"
    value = raw.strip()
    if not value:
        return "Enter the pseudonym the review names the child by, such as Child K"
    if len(value) > MAX_LENGTH:
        return f"The pseudonym must be {MAX_LENGTH} characters or fewer"
    if has_date(value) or DATE_OF_BIRTH_WORDS.search(value):
        return DATE_OF_BIRTH
    if has_nhs_number(value):
        return NHS
    if _looks_like_a_full_name(value):
        return FULL_NAME
    return None
