"""Train the churn classifier: a tracked run, its data logged, the model registered.

As a script (`python train.py 0.5`, C = 0.5) it reads customers.parquet and
holdout.parquet and logs both as dataset versions. As the entrypoint of a
training pipeline (`training: {entrypoint: train.py:main}` in werft.yaml) it
trains on the dataset versions the pipeline pinned.
"""

import sys

import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import train_test_split
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

import werft

FEATURES = ["tenure", "monthly_fee", "plan", "tickets"]


def fit(data: pd.DataFrame, c: float) -> float:
    """Fit, evaluate and register a model inside the active run; the validation roc_auc."""
    train, valid = train_test_split(data, test_size=0.25, random_state=0)
    werft.log_params({"model": "logistic_regression", "C": c})
    pipe = Pipeline(
        [
            (
                "prep",
                ColumnTransformer(
                    [
                        ("num", StandardScaler(), ["tenure", "monthly_fee", "tickets"]),
                        ("cat", OneHotEncoder(handle_unknown="ignore"), ["plan"]),
                    ]
                ),
            ),
            ("clf", LogisticRegression(C=c, max_iter=500)),
        ]
    )
    pipe.fit(train[FEATURES], train["churn"])
    auc = float(roc_auc_score(valid["churn"], pipe.predict_proba(valid[FEATURES])[:, 1]))
    werft.log_metric("roc_auc", auc)
    werft.log_model(pipe, input_example=train[FEATURES].head(20), register="churn-classifier")
    return auc


def main(params: dict, data: dict[str, str]) -> dict:
    """The pipeline's entrypoint: train on the pinned dataset version of the role 'train'."""
    name, version = data["train"].split("@")
    frame = werft.load_dataset("churn", name, int(version))
    with werft.start_run(project="churn") as run:  # continues the pipeline's run
        auc = fit(frame, float(params.get("C", 1.0)))
    return {"run_id": run.id, "roc_auc": auc}


if __name__ == "__main__":
    c = float(sys.argv[1]) if len(sys.argv) > 1 else 1.0
    with werft.start_run(project="churn", name=f"logreg-C{c}"):
        customers = pd.read_parquet("customers.parquet")
        werft.log_dataset(customers, name="customers", context="training")
        werft.log_dataset("holdout.parquet", name="customers-holdout", context="evaluation")
        print(f"roc_auc {fit(customers, c):.3f}")
