"""The read API's limits, in one place (STYLE rule 13).

The API's validation reads these constants; the SQL functions read the same
numbers from `monitoring_limits()` (migration `..._monitoring_limits.sql`),
which mirrors this module; `tests/test_limits.py` fails when the two differ.
Changing a number here means a migration that replaces `monitoring_limits()`
(and, for `SEARCH_PREFIX_CHARS`, rebuilds the search index).
"""

from typing import Final

# Rows per page of a listing (the seed: max 200).
PAGE_LIMIT_MAX: Final = 200
# Time window of `hours` (the seed: max 168), and the window when none is given.
HOURS_MAX: Final = 168
HOURS_DEFAULT: Final = 24
# `offset` of the listing; further pages are reached with the `before` cursor.
OFFSET_MAX: Final = 10_000
# The listing counts its filter exactly up to this many rows; past it, `total`
# is this number and `total_capped` is true.
TOTAL_CAP: Final = 10_000
# `q`: at most this many characters, matched within the first
# SEARCH_PREFIX_CHARS characters of each searched field.
SEARCH_MAX_CHARS: Final = 200
SEARCH_PREFIX_CHARS: Final = 1_000
# A search's total is exact when the window (other filters applied) holds at
# most this many rows, or when none of its newest this-many rows match (a rare
# text: the trigram index counts it); otherwise it is the matches among those
# rows, a floor, with `total_capped` true. (The rows a search's count examines
# are its matches divided by how common the text is: not bounded by the cap.)
SEARCH_SCAN_ROWS: Final = 2_000
# Execution, conversation and user ids (the widened columns).
ID_MAX_CHARS: Final = 255
# The user filter's suggestions (GET /users): at most this many ids per answer.
USER_SUGGESTIONS_MAX: Final = 50


def as_dict() -> dict[str, int]:
    """The limits under the names `monitoring_limits()` gives them."""
    return {
        "page_limit_max": PAGE_LIMIT_MAX,
        "hours_max": HOURS_MAX,
        "hours_default": HOURS_DEFAULT,
        "offset_max": OFFSET_MAX,
        "total_cap": TOTAL_CAP,
        "search_max_chars": SEARCH_MAX_CHARS,
        "search_prefix_chars": SEARCH_PREFIX_CHARS,
        "search_scan_rows": SEARCH_SCAN_ROWS,
        "id_max_chars": ID_MAX_CHARS,
        "user_suggestions_max": USER_SUGGESTIONS_MAX,
    }
