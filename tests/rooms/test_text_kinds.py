"""rooms.text.char_kind_ranges (the stretches web/openapi.py makes its name patterns of) says for every
code point what char_kind says: all of the BMP and every 61st code point above it, and the edges of
each range it gives."""

from __future__ import annotations

import bisect
import itertools
import sys

from rooms.text import char_kind, char_kind_ranges


def test_the_ranges_say_what_char_kind_says() -> None:
    stretches = sorted((first, last, kind) for kind, pairs in char_kind_ranges().items() for first, last in pairs)
    starts = [first for first, _, _ in stretches]
    edges = [code for first, last, _ in stretches for code in (first, last)]
    for code in [*range(0x10000), *range(0x10000, sys.maxunicode + 1, 61), *edges]:
        if 0xD800 <= code <= 0xDFFF:
            continue
        first, last, kind = stretches[bisect.bisect_right(starts, code) - 1]
        assert first <= code <= last and kind == char_kind(chr(code)), f"U+{code:04X}: {kind}"


def test_the_ranges_cover_every_code_point_but_the_surrogates_once() -> None:
    stretches = sorted(pair for pairs in char_kind_ranges().values() for pair in pairs)
    covered = sum(last - first + 1 for first, last in stretches)
    assert covered == sys.maxunicode + 1 - 0x800
    assert all(previous[1] < following[0] for previous, following in itertools.pairwise(stretches))
    assert not any(first <= 0xDFFF and last >= 0xD800 for first, last in stretches)
