import pytest

from iacp.errors import InvalidInput
from iacp.pagination import decode_cursor, encode_cursor

KEY = frozenset({"pk", "sk"})


def test_cursor_round_trips():
    key = {"pk": "ws-a", "sk": "var#x"}

    assert decode_cursor(encode_cursor(key), KEY) == key


def test_no_more_pages_is_no_cursor():
    assert encode_cursor(None) is None
    assert encode_cursor({}) is None
    assert decode_cursor(None, KEY) is None


@pytest.mark.parametrize(
    "cursor",
    ["%%%", "bm90IGpzb24", encode_cursor({"pk": "a"}), encode_cursor({"pk": "a", "sk": 1})],
)
def test_foreign_cursor_is_invalid_input_naming_the_parameter(cursor):
    with pytest.raises(InvalidInput) as raised:
        decode_cursor(cursor, KEY)

    assert raised.value.source == {"parameter": "cursor"}
