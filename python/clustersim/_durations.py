"""Durations: "150ms", "2s", "1m" strings or integer nanoseconds."""

import numbers

from ._native import format_duration, parse_duration


def duration_ns(value, what="duration"):
    """A duration as integer nanoseconds: a string such as "150ms" or "2s", or an int of nanoseconds.

    >>> duration_ns("1.5s")
    1500000000
    >>> duration_ns(250)
    250
    """
    if isinstance(value, bool):
        raise TypeError(f"{what}: expected a duration such as \"150ms\" or integer nanoseconds, got a bool")
    if isinstance(value, numbers.Integral):
        if value < 0:
            raise ValueError(f"{what}: a duration is not negative, got {value}")
        return int(value)
    if isinstance(value, str):
        try:
            return parse_duration(value)
        except ValueError as e:
            raise ValueError(f"{what}: {e}") from None
    raise TypeError(f"{what}: expected a duration such as \"150ms\" or integer nanoseconds, got {type(value).__name__}")


def duration_text(value, what="duration"):
    """The scenario format's text of a duration given as a string or integer nanoseconds."""
    return format_duration(duration_ns(value, what))
