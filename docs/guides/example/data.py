"""Deterministic churn data for the guides: customers.parquet and holdout.parquet."""

import sys

import numpy as np
import pandas as pd


def customers(n: int, seed: int, shift: float = 0.0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    tenure = rng.integers(1, 72, n) + int(shift * 20)
    fee = (rng.normal(45, 15, n) + shift * 30).clip(5, None).round(2)
    plan = rng.choice(["basic", "pro", "family"], n, p=[0.5, 0.3, 0.2])
    tickets = rng.poisson(1.2, n)
    logit = -1.0 - 0.05 * tenure + 0.03 * (fee - 45) + 0.5 * tickets + (plan == "basic") * 0.6
    churn = rng.random(n) < 1 / (1 + np.exp(-logit))
    return pd.DataFrame(
        {"tenure": tenure, "monthly_fee": fee, "plan": plan, "tickets": tickets, "churn": churn}
    )


if __name__ == "__main__":
    customers(4000, seed=1).to_parquet("customers.parquet")
    customers(1000, seed=2).to_parquet("holdout.parquet")
    if len(sys.argv) > 1:
        customers(1000, seed=3, shift=float(sys.argv[1])).to_parquet("shifted.parquet")
