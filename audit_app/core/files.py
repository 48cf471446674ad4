"""User text in files people open in a spreadsheet: always text, never a formula.

A cell whose text begins with ``=``, ``+``, ``-`` or ``@`` (or a tab or carriage
return before one) is run as a formula by Excel and LibreOffice when the file
is a CSV, and by openpyxl's writer when it is given such a string ("formula" or
"CSV" injection). Every writer of the app goes through this module:

- XLSX: strings are written as string cells (openpyxl: ``text_cell``; our own
  streaming writer, reporting/xlsx.py, writes every string as an inline
  string), so the text stays exactly as typed and no cell is a formula.
- CSV: a CSV cell has no type, so text beginning with one of
  ``FORMULA_TRIGGERS`` is prefixed with a single quote (the OWASP advice);
  spreadsheets show the quote, which is the price of not running the text.
"""

from __future__ import annotations

import re
from typing import Any

#: characters XML 1.0 cannot carry: openpyxl refuses them (a server error), spreadsheets refuse a file holding them
XLSX_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
#: the most characters a spreadsheet cell holds
XLSX_MAX_CELL = 32767

#: a cell beginning with one of these is a formula to a spreadsheet reading CSV
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


def is_formula_like(value: Any) -> bool:
    """Whether a spreadsheet would take this value, written as bare text, for a formula."""
    return isinstance(value, str) and value.startswith(FORMULA_TRIGGERS)


def csv_cell(value: Any) -> Any:
    """A value for a CSV cell: text that would run as a formula gets a leading single quote."""
    return "'" + value if is_formula_like(value) else value


def text_cell(cell: Any, value: Any) -> Any:
    """Put ``value`` into an openpyxl cell, a string as a string cell (never a formula), without the characters
    a spreadsheet cannot hold (as reporting/xlsx.py writes them); returns the cell."""
    if isinstance(value, str):
        value = XLSX_ILLEGAL.sub("", value)[:XLSX_MAX_CELL]
    cell.value = value
    if isinstance(value, str):
        cell.data_type = "s"  # openpyxl makes any string beginning with "=" a formula
    return cell
