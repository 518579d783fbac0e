"""What a run records about where it ran: source, git state, Python, packages."""

from __future__ import annotations

import platform
import subprocess
import sys
from pathlib import Path
from typing import Any

from werft.governance.actor import current_actor

KEY_PACKAGES = (
    "werft",
    "numpy",
    "pandas",
    "pyarrow",
    "scikit-learn",
    "scipy",
    "xgboost",
    "lightgbm",
    "torch",
    "tensorflow",
    "skops",
    "onnx",
    "onnxruntime",
)


def current_user() -> str:
    """Who is acting: :func:`werft.governance.actor.current_actor` (set, else the OS user)."""
    return current_actor()


def source_file() -> str | None:
    """The script being run (``python train.py``), if any."""
    main = sys.modules.get("__main__")
    path = getattr(main, "__file__", None) or (sys.argv[0] if sys.argv and sys.argv[0] else None)
    if not path or path in ("-c", "-m"):
        return None
    return str(Path(path).resolve())


def git_state(start: Path) -> tuple[str | None, bool | None]:
    """Commit and dirty flag of the repository containing ``start``, if any."""
    folder = start if start.is_dir() else start.parent
    try:
        commit = subprocess.run(
            ["git", "-C", str(folder), "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            timeout=5,
            check=False,
        )
        if commit.returncode != 0:
            return None, None
        status = subprocess.run(
            ["git", "-C", str(folder), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            timeout=5,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None, None
    return commit.stdout.strip() or None, bool(status.stdout.strip())


def packages() -> dict[str, str]:
    """Installed versions of the packages that decide a model's behaviour."""
    # importlib.metadata costs 15 ms to import; only runs need it, not `import werft`.
    from importlib import metadata

    found = {}
    for name in KEY_PACKAGES:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return found


def describe_environment() -> dict[str, Any]:
    """Python version, platform and key package versions."""
    return {
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "packages": packages(),
    }


def run_context() -> dict[str, Any]:
    """Fields ``create_run`` records about the calling process."""
    source = source_file()
    commit, dirty = git_state(Path(source) if source else Path.cwd())
    return {
        "user": current_user(),
        "source_file": source,
        "git_commit": commit,
        "git_dirty": dirty,
        "environment": describe_environment(),
    }
