"""The store <-> headquarters wire contract, shared by both ends.

Uplink: ``POST /api/v1/stores/{store_id}/events`` with a gzip-compressed JSON body
``{"events": [...]}`` and three headers: the store's API key id, the Unix time in seconds,
and an HMAC-SHA256 (hex) over ``"{timestamp}\\n{METHOD}\\n{path}\\n"`` followed by the exact body
bytes sent. Headquarters rejects signatures older or newer than :data:`MAX_SKEW_S`.

Downlink payloads that carry biometric data (the member gallery) are additionally encrypted
with a key derived from the store's secret (:func:`derive_key`), so that they stay encrypted in
transit past any TLS terminator and at rest in caches.
"""

from __future__ import annotations

import base64
import hashlib
import hmac

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

HEADER_KEY_ID = "X-O2O-Key"
HEADER_TIMESTAMP = "X-O2O-Timestamp"
HEADER_SIGNATURE = "X-O2O-Signature"
MAX_SKEW_S = 300

EVENTS_PATH = "/api/v1/stores/{store_id}/events"
CONFIRMATIONS_PATH = "/api/v1/stores/{store_id}/confirmations"
"""POST ``{"resource": "gallery" | "erasures", "version": N}``: the store applied it."""


def signing_message(timestamp: int, method: str, path: str, body: bytes) -> bytes:
    return f"{timestamp}\n{method.upper()}\n{path}\n".encode() + body


def sign(secret: str, timestamp: int, method: str, path: str, body: bytes) -> str:
    message = signing_message(timestamp, method, path, body)
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def signature_valid(
    secret: str, timestamp: int, method: str, path: str, body: bytes, signature: str
) -> bool:
    return hmac.compare_digest(sign(secret, timestamp, method, path, body), signature)


def timestamp_fresh(timestamp: int, now_s: float) -> bool:
    return abs(now_s - timestamp) <= MAX_SKEW_S


def derive_key(secret: str, purpose: str) -> bytes:
    """A Fernet key (urlsafe base64 of 32 bytes) for one purpose, e.g. ``gallery``."""
    raw = HKDF(
        algorithm=hashes.SHA256(), length=32, salt=None, info=f"o2o/{purpose}".encode()
    ).derive(secret.encode())
    return base64.urlsafe_b64encode(raw)
