"""Send a table's rows to werft serve, one request per row, then their true labels as feedback."""

import sys

import httpx
import pandas as pd

URL = "http://127.0.0.1:9000"
table = pd.read_parquet(sys.argv[1])
labels = []
with httpx.Client(base_url=URL) as http:
    for row in table.to_dict("records"):
        label = row.pop("churn")
        answer = http.post("/predict", json={"rows": [row]}).raise_for_status().json()
        labels.append({"request_id": answer["request_id"], "label": str(bool(label)).lower()})
    print(http.post("/feedback", json=labels).json())
