"""Pure detectors of what identifies a person in typed text: dates (of birth) in any form, NHS numbers,
National Insurance numbers and postcodes. Case references (case_audits.cohort) and review pseudonyms
(reviews.pseudonyms) both refuse text these match."""

from __future__ import annotations

import re
from datetime import date

MONTHS = r"(jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*"
#: a date written with numbers or a month's name: 03/04/2019, 2019-04-03, 3rd April, April 3
DATE_PATTERNS = [
    re.compile(r"\b\d{1,2}[/.-]\d{1,2}[/.-]\d{2,4}\b"),
    re.compile(r"\b\d{4}[/.-]\d{1,2}[/.-]\d{1,2}\b"),
    re.compile(rf"\b\d{{1,2}}(st|nd|rd|th)?\s+{MONTHS}\b", re.IGNORECASE),
]
#: a month's name then a day or a year: "April 3", "April 2019"
MONTH_FIRST_DATE = re.compile(rf"\b{MONTHS}\s+\d{{1,4}}\b", re.IGNORECASE)
#: the words that announce a date of birth
DATE_OF_BIRTH_WORDS = re.compile(r"\b(dob|d\.o\.b|born)\b", re.IGNORECASE)
#: the words that announce a date of birth or an age
AGE_WORDS = re.compile(r"\b(dob|d\.o\.b|born|aged?)\b", re.IGNORECASE)
NHS_NUMBER = re.compile(r"(?<!\d)(\d{3})[ -]?(\d{3})[ -]?(\d{4})(?!\d)")
NI_NUMBER = re.compile(r"\b[A-CEGHJ-PR-TW-Z]{2}\s?\d{2}\s?\d{2}\s?\d{2}\s?[A-D]\b", re.IGNORECASE)
POSTCODE = re.compile(r"\b[A-Z]{1,2}\d[A-Z\d]?\s+\d[A-Z]{2}\b", re.IGNORECASE)
DIGIT_RUN = re.compile(r"\d+")


def is_nhs_number(digits: str) -> bool:
    """A ten-digit NHS number whose check digit (modulus 11) is right."""
    total = sum(int(d) * (10 - i) for i, d in enumerate(digits[:9]))
    check = 11 - total % 11
    check = 0 if check == 11 else check
    return check != 10 and check == int(digits[9])


def is_compact_date(run: str) -> bool:
    """Six or eight digits that read as a date of birth (DDMMYY, DDMMYYYY or YYYYMMDD)."""
    candidates = []
    if len(run) == 6:
        candidates.append((2000 + int(run[4:]), int(run[2:4]), int(run[:2])))
    elif len(run) == 8:
        candidates += [(int(run[4:]), int(run[2:4]), int(run[:2])), (int(run[:4]), int(run[4:6]), int(run[6:]))]
    for year, month, day in candidates:
        try:
            date(year, month, day)
        except ValueError:
            continue
        if len(run) == 6 or 1900 <= year <= 2100:
            return True
    return False


def has_date(text: str) -> bool:
    """The text holds a date in any form: with separators, a month's name, or six or eight digits that read
    as one."""
    return (
        any(pattern.search(text) for pattern in DATE_PATTERNS)
        or bool(MONTH_FIRST_DATE.search(text))
        or any(is_compact_date(run) for run in DIGIT_RUN.findall(text))
    )


def has_nhs_number(text: str) -> bool:
    return any(is_nhs_number("".join(match.groups())) for match in NHS_NUMBER.finditer(text))
