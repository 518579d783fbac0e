"""The quickstart's repository: the use case as code and the training entrypoint.

These are the files a team keeps in git; the quickstart writes them into its
home so that ``werft train``, the triggers and ``werft reproduce`` have a real
repository to snapshot.
"""

from __future__ import annotations

from pathlib import Path

PROJECT = "churn"
MODEL = "churn-classifier"
ALERT = "churn-drift"

WERFT_YAML = """\
# The churn use case as code: what the business wants, how we know a model is
# good enough, who may release it, and how it is retrained.
use_case:
  key: {project}
  name: Churn prediction for contract customers
  business_goal: Keep more contract customers by calling those about to cancel
  owner: sales-analytics
  risk_class: limited
  intended_use: Rank customers for the retention team's weekly calls; no automated decisions.
  kpis:
    - {{name: retained_customers, unit: count, direction: up}}
  acceptance:
    - {{metric: roc_auc, op: ">=", value: 0.70}}
    - {{metric: accuracy, op: ">=", value: 0.60}}
  regression_tolerance: {{roc_auc: 0.03}}
  data_checks: {{max_null_rate: 0.01, drift_share_max: 0.5}}
  approvers: [anna]
  policy: {{production: approval, staging: automatic}}
  target: churn
  positive_class: true
training:
  entrypoint: train.py:main
  params: {{C: {c}}}
  data: {{train: customers@latest, holdout: customers-holdout@latest}}
  model: {model}
  timeout: 10m
  triggers:
    - alert: {alert}
  on_success: {{promote_to: production}}
"""

TRAIN_PY = '''\
"""Train the churn classifier: called by `werft train` and by the retraining triggers."""

import werft
from sklearn.compose import ColumnTransformer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

FEATURES = ["tenure", "monthly_fee", "plan", "tickets"]


def build(c):
    prep = ColumnTransformer(
        [
            ("plan", OneHotEncoder(handle_unknown="ignore"), ["plan"]),
            ("numbers", StandardScaler(), ["tenure", "monthly_fee", "tickets"]),
        ]
    )
    return Pipeline([("prep", prep), ("model", LogisticRegression(C=c, max_iter=500))])


def main(params, data):
    train_name, train_version = data["train"].split("@")
    holdout_name, holdout_version = data["holdout"].split("@")
    train = werft.load_dataset("churn", train_name, int(train_version))
    holdout = werft.load_dataset("churn", holdout_name, int(holdout_version))
    print(f"training on {train_name}@{train_version}: {len(train)} customers", flush=True)
    with werft.start_run(project="churn") as run:
        model = build(float(params["C"])).fit(train[FEATURES], train["churn"])
        auc = roc_auc_score(holdout["churn"], model.predict_proba(holdout[FEATURES])[:, 1])
        werft.log_metric("roc_auc", float(auc))
        werft.log_metric("accuracy", float(model.score(holdout[FEATURES], holdout["churn"])))
        werft.log_model(model, input_example=train[FEATURES].head(5), register="churn-classifier")
    print(f"holdout roc_auc {auc:.3f}", flush=True)
    return {"run_id": run.id}
'''


def write(folder: Path, *, c: float) -> Path:
    """Write werft.yaml (with the chosen regularisation ``c``) and train.py; the yaml's path."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "train.py").write_text(TRAIN_PY, encoding="utf-8")
    path = folder / "werft.yaml"
    path.write_text(
        WERFT_YAML.format(project=PROJECT, model=MODEL, alert=ALERT, c=c), encoding="utf-8"
    )
    return path
