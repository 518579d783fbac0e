"""API token strings: how they are made, told apart and checked.

A token reads ``wft_<prefix>_<secret>``: ``wft_`` says what it is (secret
scanners and people recognise it), the 8-character hex prefix finds the
stored row without a table scan, and the secret is 32 random bytes from
:mod:`secrets`, URL-safe base64 (43 characters).

Only a SHA-256 of the whole string is stored. A slow password hash (scrypt,
PBKDF2, argon2) would buy nothing here: it exists to slow down guessing of
low-entropy passwords, while these secrets carry 256 random bits, which no
amount of hashing speed brings within reach of a brute force — and a fast
hash keeps authentication cheap on every request. Hashes are compared with
:func:`hmac.compare_digest`, in constant time.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from werft.errors import UnauthenticatedError

TOKEN_SCHEME = "wft"
PREFIX_LENGTH = 8
SECRET_BYTES = 32
HASH_SCHEME = "sha256:"

INVALID = "token is not valid; create one with `werft tokens create`"


def new_token() -> tuple[str, str]:
    """A fresh ``(prefix, token)``; the token is shown once and never stored."""
    prefix = secrets.token_hex(PREFIX_LENGTH // 2)
    return prefix, f"{TOKEN_SCHEME}_{prefix}_{secrets.token_urlsafe(SECRET_BYTES)}"


def token_prefix(token: str) -> str:
    """The lookup prefix of a well-formed token; ``UnauthenticatedError`` otherwise."""
    parts = token.strip().split("_", 2)
    if (
        len(parts) != 3
        or parts[0] != TOKEN_SCHEME
        or len(parts[1]) != PREFIX_LENGTH
        or len(parts[2]) < SECRET_BYTES
    ):
        raise UnauthenticatedError(INVALID)
    return parts[1]


def token_hash(token: str) -> str:
    """What is stored for a token: ``sha256:<hex>`` of the whole string."""
    return HASH_SCHEME + hashlib.sha256(token.strip().encode()).hexdigest()


def hash_matches(stored: str, token: str) -> bool:
    """Constant-time comparison of a stored hash with a presented token's."""
    return hmac.compare_digest(stored.encode(), token_hash(token).encode())
