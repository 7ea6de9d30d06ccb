"""The PHP semantics both sandboxes emulate (hub/sandbox/php.py)."""

import pytest

from hub.sandbox.php import (
    php_filter_int,
    php_int,
    php_is_numeric,
    php_json,
    php_loose_equal,
    php_string,
    php_truthy,
)


@pytest.mark.parametrize("value", [None, False, 0, 0.0, "", "0", [], {}])
def test_empty_values_are_falsy_as_in_php(value: object) -> None:
    assert php_truthy(value) is False


@pytest.mark.parametrize("value", [True, 1, -1, 0.5, "a", "00", "0.0", " ", [0], {"a": 0}])
def test_non_empty_values_are_truthy_as_in_php(value: object) -> None:
    assert php_truthy(value) is True


def test_loose_equal_compares_null_and_booleans_as_booleans() -> None:
    assert php_loose_equal(None, False)
    assert php_loose_equal(None, "")
    assert php_loose_equal(True, "yes")
    assert not php_loose_equal(None, "0.0")
    assert php_loose_equal(3, 3.0)
    assert not php_loose_equal("a", "b")


def test_loose_equal_compares_numeric_strings_as_numbers_as_php_8_does():
    assert php_loose_equal("1", 1) and php_loose_equal(" 1", 1.0) and php_loose_equal("1.0", "01")
    assert php_loose_equal("1e3", 1000)
    assert not php_loose_equal(0, "abc")  # PHP 8: a non-numeric string is compared as a string
    assert php_loose_equal(5, "5") and not php_loose_equal("abc", "ABC")


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("12abc", 12), ("abc", 0), (" 7 ", 7), ("-3x", -3), ("", 0), (None, 0), (True, 1), (4.9, 4), (-4.9, -4), (5, 5)],
)
def test_int_cast_takes_the_leading_integer(raw: object, expected: int) -> None:
    assert php_int(raw) == expected


def test_is_numeric_and_filter_int_differ_as_in_php() -> None:
    assert php_is_numeric(" 1.5e3 ") and not php_filter_int("1.5e3")
    assert php_filter_int(" 42 ") and php_filter_int(True) and not php_filter_int(False)
    assert not php_filter_int("042") and php_is_numeric("042")
    assert not php_is_numeric(True) and not php_filter_int(str(2**63))


def test_string_cast_and_json_encode() -> None:
    assert [php_string(v) for v in (None, False, True, 3.0, 2.5, "x")] == ["", "", "1", "3", "2.5", "x"]
    assert php_json({"url": "a/b", "naam": "Zoë"}) == '{"url":"a\\/b","naam":"Zo\\u00eb"}'
