"""Alembic migrations of the metadata store.

``HEAD_REVISION`` lets a starting process see that the schema is current with
one query and without importing Alembic; a test checks it against Alembic's
own idea of the head.
"""

from __future__ import annotations

HEAD_REVISION = "0007"
