"""Bit-level GPP encoding: fixed-width integers, Fibonacci codes and ranges, base64url."""


class GppError(ValueError):
    """A string that is not a valid GPP or US Privacy string; the message says why."""


BASE64URL_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
# The IAB assigns section ids one by one (2 to 23 so far); a larger one is a broken string.
MAX_SECTION_ID = 4095


def int_bits(value: int, width: int) -> str:
    if not 0 <= value < (1 << width):
        raise ValueError(f"{value} does not fit in {width} bits")
    return format(value, f"0{width}b")


def fibonacci_bits(value: int) -> str:
    """Fibonacci code of a positive integer: Zeckendorf bits, lowest weight first, then a 1."""
    if value < 1:
        raise ValueError("Fibonacci coding needs a positive integer")
    weights = [1, 2]
    while weights[-1] + weights[-2] <= value:
        weights.append(weights[-1] + weights[-2])
    weights = [w for w in weights if w <= value]
    bits = ["0"] * len(weights)
    remaining = value
    for index in range(len(weights) - 1, -1, -1):
        if weights[index] <= remaining:
            bits[index] = "1"
            remaining -= weights[index]
    return "".join(bits) + "1"


def read_fibonacci(bits: str, position: int) -> tuple[int, int]:
    """Decode one Fibonacci code starting at `position`; return (value, position after it)."""
    end = bits.find("11", position)
    if end < 0:
        raise GppError("A Fibonacci-coded number is cut off (no terminating 11).")
    value, previous, weight = 0, 1, 1
    for bit in bits[position : end + 1]:
        if bit == "1":
            value += weight
        previous, weight = weight, weight + previous
    return value, end + 2


def fibonacci_range_bits(ids: list[int]) -> str:
    """A sorted set of ids as Int(12) count, then runs: 0+offset, or 1+offset+length."""
    ordered = sorted(set(ids))
    runs: list[list[int]] = []
    for section_id in ordered:
        if runs and runs[-1][-1] + 1 == section_id:
            runs[-1].append(section_id)
        else:
            runs.append([section_id])
    bits, last = int_bits(len(runs), 12), 0
    for run in runs:
        start, end = run[0], run[-1]
        if start == end:
            bits += "0" + fibonacci_bits(start - last)
        else:
            bits += "1" + fibonacci_bits(start - last) + fibonacci_bits(end - start)
        last = end
    return bits


def read_fibonacci_range(
    bits: str, position: int, max_ids: int | None = None
) -> tuple[list[int], int]:
    """The ids of a Fibonacci range and the position after it. `max_ids`: refuse a range that
    names more ids before listing them (a few bits can name a group of billions)."""
    if len(bits) < position + 12:
        raise GppError("The header is too short to hold its section count.")
    count = int(bits[position : position + 12], 2)
    position += 12
    runs: list[tuple[int, int]] = []
    last = named = 0
    for _ in range(count):
        if position >= len(bits):
            raise GppError("The header names fewer section ids than its count says.")
        is_group = bits[position] == "1"
        offset, position = read_fibonacci(bits, position + 1)
        start = last + offset
        length = 0
        if is_group:
            length, position = read_fibonacci(bits, position)
        last = start + length
        if last > MAX_SECTION_ID:
            raise GppError(f"The header names a section id above {MAX_SECTION_ID}.")
        runs.append((start, length))
        named += length + 1
    if max_ids is not None and named > max_ids:
        shown = named if named < 10**9 else "over a billion"
        raise GppError(f"The header names {shown} section(s) but {max_ids} follow it.")
    ids = [section_id for start, length in runs for section_id in range(start, start + length + 1)]
    return ids, position


def bits_to_base64url(bits: str) -> str:
    """Pad to a whole byte, then to a multiple of 6 (as the reference library does), encode."""
    bits += "0" * (-len(bits) % 8)
    bits += "0" * (-len(bits) % 6)
    return "".join(BASE64URL_ALPHABET[int(bits[i : i + 6], 2)] for i in range(0, len(bits), 6))


def base64url_to_bits(text: str, what: str) -> str:
    if not text:
        raise GppError(f"The {what} is empty.")
    bad = sorted({c for c in text if c not in BASE64URL_ALPHABET})
    if bad:
        raise GppError(
            f"The {what} holds {''.join(bad)!r}: only base64url characters "
            "(A-Z a-z 0-9 - _) without padding are allowed."
        )
    return "".join(format(BASE64URL_ALPHABET.index(c), "06b") for c in text)
