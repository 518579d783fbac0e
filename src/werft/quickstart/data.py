"""Deterministic synthetic contract customers: what the quickstart (and the tests) use.

Generated in code, no download: tenure, monthly fee, plan and support
tickets, and whether the customer churned, drawn from a fixed logistic model.
``shifted=True`` draws the customers of a later market — longer tenures,
higher fees, more family plans — from the same model, so a model trained on
the old data sees drift and a model retrained on the new data fits again.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

FEATURES = ["tenure", "monthly_fee", "plan", "tickets"]
LABEL = "churn"


def make_customers(n: int = 2000, seed: int = 7, *, shifted: bool = False) -> pd.DataFrame:
    """``n`` customers with a boolean ``churn`` label; the same ``seed`` gives the same rows."""
    rng = np.random.default_rng(seed)
    tenure = rng.integers(1, 72, n) + (40 if shifted else 0)
    fee = (rng.normal(45, 15, n).clip(5, None) * (1.8 if shifted else 1.0)).round(2)
    plans = [0.2, 0.2, 0.6] if shifted else [0.5, 0.3, 0.2]
    plan = rng.choice(["basic", "pro", "family"], n, p=plans)
    tickets = rng.poisson(1.2, n)
    logit = (
        -1.0
        - 0.05 * (tenure - (40 if shifted else 0))
        + 0.03 * (fee / (1.8 if shifted else 1.0) - 45)
        + 0.5 * tickets
        + (plan == "basic") * 0.6
    )
    churn = rng.random(n) < 1 / (1 + np.exp(-logit))
    return pd.DataFrame(
        {"tenure": tenure, "monthly_fee": fee, "plan": plan, "tickets": tickets, LABEL: churn}
    )
