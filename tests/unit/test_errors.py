"""What an error may quote of a submitted value (``iacp.errors.capped``)."""

from iacp.errors import QUOTED_LIMIT, capped, pointer_of


def test_a_short_value_is_quoted_whole():
    assert capped("ws-AAAAAAAAAAAAAAAA") == "ws-AAAAAAAAAAAAAAAA"
    assert capped("x" * QUOTED_LIMIT) == "x" * QUOTED_LIMIT


def test_a_long_value_is_quoted_by_its_start_and_an_ellipsis():
    quoted = capped("x" * 3000)

    assert len(quoted) == QUOTED_LIMIT
    assert quoted == "x" * (QUOTED_LIMIT - 1) + "…"


def test_a_pointer_caps_each_part_of_the_location():
    assert pointer_of(("data", 0, "url")) == "/data/0/url"
    assert pointer_of(("tags", "t" * 3000)) == "/tags/" + capped("t" * 3000)
