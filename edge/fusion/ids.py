"""Session ids derived from what opened the session, so that a replay gives the same ids."""

from __future__ import annotations

import hashlib


def stable_id(prefix: str, *parts: object) -> str:
    """``prefix-`` plus 16 hex digits of a hash of ``parts``: deterministic, and it does not
    show the member id or zone it was made from."""
    digest = hashlib.blake2b("\x1f".join(map(str, parts)).encode(), digest_size=8)
    return f"{prefix}-{digest.hexdigest()}"
