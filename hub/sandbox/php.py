"""PHP semantics the partners' Laravel code relies on, emulated once for every sandbox.

Both Econobis and Hoomdossier are PHP applications: their answers depend on PHP's casts and loose
comparisons (`(int) "12abc"` is 12, `null == false`, `! empty("0")` is false). A sandbox that used Python's
own rules instead would be kinder than the partner. Each function names the PHP expression it reproduces."""

from __future__ import annotations

import json
import re
from typing import Any

PHP_INT_MAX = 2**63 - 1

_WS = " \t\n\r\v\f"
_NUMERIC = re.compile(r"^[ \t\n\r\v\f]*[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?[ \t\n\r\v\f]*$", re.ASCII)
_INT = re.compile(r"^[+-]?(0|[1-9]\d*)$", re.ASCII)
_LEADING_INT = re.compile(r"^[ \t\n\r\v\f]*([+-]?\d+)", re.ASCII)


def php_truthy(value: Any) -> bool:
    """`(bool) $value`, which is `! empty($value)`: null, false, 0, 0.0, "", "0" and [] are false."""
    if value is None or value is False:
        return False
    if isinstance(value, int | float):
        return value != 0
    if isinstance(value, str):
        return value not in ("", "0")
    if isinstance(value, list | tuple | dict):
        return len(value) > 0
    return True


def php_loose_equal(a: Any, b: Any) -> bool:
    """PHP 8's `$a == $b` for what database columns and form values hold (null, booleans, numbers, strings,
    dates): null or a boolean on either side compares both as booleans (null == false == '' == 0); a number
    and a numeric string, or two numeric strings, compare as numbers ("1" == 1, "1.0" == "01"); a number and a
    non-numeric string compare as strings (PHP 8: 0 != "abc"); anything else as it is."""
    if a is None or b is None or isinstance(a, bool) or isinstance(b, bool):
        return php_truthy(a) == php_truthy(b)
    if isinstance(a, int | float) and isinstance(b, int | float):
        return bool(a == b)
    if isinstance(a, str | int | float) and isinstance(b, str | int | float):
        if php_is_numeric(a) and php_is_numeric(b):
            return float(a) == float(b)
        if isinstance(a, str) and isinstance(b, str):
            return a == b
        return php_string(a) == php_string(b)
    return bool(a == b)


def php_int(value: Any) -> int:
    """`(int) $value`: a string gives its leading integer ("12abc" → 12, "abc" → 0, " 7 " → 7), a float is
    truncated, a boolean is 0 or 1, null is 0."""
    if value is None or value is False:
        return 0
    if value is True:
        return 1
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return int(value)
    m = _LEADING_INT.match(str(value))
    return int(m.group(1)) if m else 0


def php_is_numeric(value: Any) -> bool:
    """`is_numeric($value)`: numbers, and strings that read as one (surrounding whitespace allowed)."""
    if isinstance(value, bool):
        return False
    if isinstance(value, int | float):
        return True
    return isinstance(value, str) and _NUMERIC.match(value) is not None


def php_filter_int(value: Any) -> bool:
    """`filter_var($value, FILTER_VALIDATE_INT) !== false`."""
    if isinstance(value, bool):
        return value  # (string) true === "1"
    if isinstance(value, int):
        return True
    if isinstance(value, float):
        return value.is_integer() and abs(value) < 1e15
    if isinstance(value, str):
        text = value.strip(_WS)
        return _INT.match(text) is not None and abs(int(text)) <= PHP_INT_MAX
    return False


def php_string(value: Any) -> str:
    """`(string) $value` for scalars: null and false are "", true is "1", 3.0 is "3"."""
    if value is None or value is False:
        return ""
    if value is True:
        return "1"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def php_json(body: Any) -> str:
    """`json_encode($body)` with default flags: ASCII only, slashes escaped, no spaces."""
    return json.dumps(body, ensure_ascii=True, separators=(",", ":")).replace("/", "\\/")
