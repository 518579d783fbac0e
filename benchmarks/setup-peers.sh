#!/usr/bin/env bash
# Install the peers werft is benchmarked against, each into its own virtualenv.
#
# Neither MLflow nor Evidently is a werft dependency: MLflow lives in
# benchmarks/.venv-mlflow, Evidently in benchmarks/.venv-evidently (both
# gitignored); bench_tracking.py and bench_drift.py drive them through those
# venvs' pythons.  Re-running the script is safe; it only upgrades in place.
#
#   bash benchmarks/setup-peers.sh              # every peer
#   bash benchmarks/setup-peers.sh evidently    # only the named ones (mlflow, evidently)
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
python="${PYTHON:-python3}"
mlflow_spec="${MLFLOW_SPEC:-mlflow==3.*}"
# Evidently 0.7 imports pandas internals that pandas 3 removed, so it gets pandas 2.
evidently_spec="${EVIDENTLY_SPEC:-evidently==0.7.* pandas<3}"

# setup NAME PIP-SPEC: create benchmarks/.venv-NAME and install the spec into it.
setup() {
    local name="$1" spec="$2" venv="${here}/.venv-$1"
    if [[ ! -x "${venv}/bin/python" ]]; then
        echo "creating ${venv} with $(${python} --version)"
        "${python}" -m venv "${venv}"
    fi
    "${venv}/bin/python" -m pip install --quiet --upgrade pip
    local requirements
    read -r -a requirements <<< "${spec}"  # a spec may name several; split without globbing
    "${venv}/bin/python" -m pip install --quiet "${requirements[@]}"
    "${venv}/bin/python" -c 'import '"${name}"'; print("'"${name}"'", '"${name}"'.__version__, "ready in '"${venv}"'")'
}

peers=("$@")
if [[ ${#peers[@]} -eq 0 ]]; then
    peers=(mlflow evidently)
fi
for peer in "${peers[@]}"; do
    case "${peer}" in
        mlflow) setup mlflow "${mlflow_spec}" ;;
        evidently) setup evidently "${evidently_spec}" ;;
        *) echo "unknown peer '${peer}'; expected mlflow or evidently" >&2; exit 2 ;;
    esac
done
