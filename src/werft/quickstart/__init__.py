"""``werft quickstart``: the whole lifecycle on one machine, and the data it uses.

:func:`run_quickstart` performs and narrates every phase in a fresh home
(:mod:`werft.quickstart.lifecycle`); :func:`make_customers` draws the
deterministic synthetic customers it trains on (:mod:`werft.quickstart.data`).
"""

from __future__ import annotations

from werft.quickstart.data import make_customers
from werft.quickstart.lifecycle import QuickstartResult, default_home, run_quickstart

__all__ = ["QuickstartResult", "default_home", "make_customers", "run_quickstart"]
