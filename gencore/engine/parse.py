"""Reading a setting's value (a number, text from a flag or a notebook parameter, a choice) as
what it must be, or one clear error that names the setting."""

from __future__ import annotations

import math
from typing import Any

from gencore.engine.errors import GencoreError

__all__ = ["parse_choice", "parse_float", "parse_int", "parse_number"]


def parse_number(name: str, value: Any, what: str) -> int | float:
    """An int stays exact (seeds reach 2**63); text and floats become numbers, or an error."""
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise GencoreError(f"{name} must be {what}, got {value!r}.")
    if isinstance(value, int):
        return value
    try:
        text = value.strip() if isinstance(value, str) else None
        return int(text) if text is not None and text.lstrip("+-").isdigit() else float(value)
    except ValueError:
        raise GencoreError(f"{name} must be {what}, got {value!r}.") from None


def parse_int(name: str, value: Any, minimum: int, maximum: int | None) -> int:
    """``value`` (a number or text: "64", "1e2") as a whole number in [minimum, maximum], or one clear error naming ``name``."""
    number = parse_number(name, value, "a whole number")
    if isinstance(number, float):
        if not math.isfinite(number) or not number.is_integer():
            raise GencoreError(f"{name} must be a whole number, got {value!r}.")
        number = int(number)
    if number < minimum or (maximum is not None and number > maximum):
        bound = f"between {minimum} and {maximum}" if maximum is not None else f"at least {minimum}"
        raise GencoreError(f"{name} must be {bound}, got {value!r}.")
    return number


def parse_float(name: str, value: Any, minimum: float = 0.0, above: bool = False, maximum: float | None = None) -> float:
    """``value`` as a finite number of at least ``minimum`` (greater than it with ``above``), at most ``maximum``."""
    number = float(parse_number(name, value, "a number"))
    if not math.isfinite(number) or number < minimum or (maximum is not None and number > maximum):
        bound = f" and at most {maximum:g}" if maximum is not None else ""
        raise GencoreError(f"{name} must be a finite number of at least {minimum}{bound}, got {value!r}.")
    if above and number <= minimum:
        raise GencoreError(f"{name} must be greater than {minimum:g}, got {value!r}.")
    return number


def parse_choice(name: str, value: Any, choices: tuple[str, ...]) -> str:
    """One of ``choices``, case and ``_``/``-`` forgiven."""
    if isinstance(value, str) and value.lower().replace("_", "-") in choices:
        return value.lower().replace("_", "-")
    raise GencoreError(f"unknown {name} {value!r}: choose one of {', '.join(choices)}.")
