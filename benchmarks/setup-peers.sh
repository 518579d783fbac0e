#!/usr/bin/env bash
# Install the peers werft is benchmarked against into their own virtualenv.
#
# MLflow is not a werft dependency: it lives in benchmarks/.venv-mlflow
# (gitignored), and benchmarks/bench_tracking.py drives it through that
# venv's python.  Re-running the script is safe; it only upgrades in place.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
venv="${here}/.venv-mlflow"
python="${PYTHON:-python3}"
mlflow_spec="${MLFLOW_SPEC:-mlflow==3.*}"

if [[ ! -x "${venv}/bin/python" ]]; then
    echo "creating ${venv} with $(${python} --version)"
    "${python}" -m venv "${venv}"
fi
"${venv}/bin/python" -m pip install --quiet --upgrade pip
"${venv}/bin/python" -m pip install --quiet "${mlflow_spec}"
"${venv}/bin/python" -c 'import mlflow; print("mlflow", mlflow.__version__, "ready in '"${venv}"'")'
