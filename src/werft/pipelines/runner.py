"""Runs one training entrypoint in this process and reports its outcome.

Every executor starts it the same way, in the project's repository::

    python -P -m werft.pipelines.runner --job JSON (--result-file PATH | --result-marker TOKEN)

``JSON`` holds ``entrypoint``, ``params`` and ``data``. The runner imports the
entrypoint and calls ``function(params=params, data=data)``:

* ``train.py:main`` loads the file (relative to the current directory) as the
  module ``train``, with the file's folder first on ``sys.path`` as
  ``python train.py`` would have it, then the current directory — but
  ``if __name__ == "__main__":`` blocks do not run;
* ``package.module:main`` imports the module with the current directory on
  ``sys.path``.

The outcome — ``{"ok": true, "result": ...}`` or ``{"ok": false, "error": ...}``
— is written atomically to ``--result-file``, or printed as the last line of
output after ``--result-marker`` where no file can travel back (Ray). Exit
codes: 0 the entrypoint returned, 1 it raised, 2 it could not be loaded or
called, 143 the job was stopped (SIGTERM), n when it called ``sys.exit(n)``.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import inspect
import json
import os
import signal
import sys
import traceback
from collections.abc import Callable
from pathlib import Path
from types import FrameType, ModuleType
from typing import Any, cast

from werft.errors import InvalidInputError
from werft.pipelines.jobs import (
    EXIT_OK,
    EXIT_RAISED,
    EXIT_UNLOADABLE,
    MAX_RESULT_BYTES,
    Entrypoint,
    Outcome,
    parse_entrypoint,
)

EXIT_TERMINATED = 128 + signal.SIGTERM
TRACEBACK_LINES = 30


class _Terminated(BaseException):
    """SIGTERM, raised in the entrypoint so its ``finally`` blocks and ``with``
    statements (an open tracked run, say) get to close."""


class _UnloadableError(Exception):
    """The entrypoint cannot be imported or called; the message says why."""


def _on_sigterm(signum: int, frame: FrameType | None) -> None:
    raise _Terminated


def describe(exc: BaseException) -> str:
    """``Type: message`` and the last lines of the traceback."""
    summary = traceback.format_exception_only(exc)[-1].strip()
    lines = "".join(traceback.format_exception(exc)).rstrip().splitlines()
    if len(lines) > TRACEBACK_LINES:
        lines = ["  ...", *lines[-TRACEBACK_LINES:]]
    return summary + "\n\n" + "\n".join(lines)


def _without_first_frame(exc: BaseException) -> BaseException:
    # The first frame is the runner's own call; the user wants theirs.
    if exc.__traceback__ is not None and exc.__traceback__.tb_next is not None:
        exc.__traceback__ = exc.__traceback__.tb_next
    return exc


def _load_file(entry: Entrypoint, root: Path) -> ModuleType:
    path = root / entry.target
    if not path.is_file():
        raise _UnloadableError(f"entrypoint file {entry.target!r} does not exist in {str(root)!r}")
    name = path.stem
    if name in sys.modules:
        raise _UnloadableError(
            f"entrypoint file {entry.target!r} has the name of the module {name!r}, "
            "which is already loaded; rename the file"
        )
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise _UnloadableError(f"entrypoint file {entry.target!r} cannot be loaded as a module")
    sys.path[:0] = [str(path.parent), str(root)]
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # so pickling finds classes the file defines
    try:
        spec.loader.exec_module(module)
    except Exception as exc:
        del sys.modules[name]
        raise _UnloadableError(
            f"importing {entry.target!r} failed: {describe(_without_first_frame(exc))}"
        ) from exc
    return module


def _load_module(entry: Entrypoint, root: Path) -> ModuleType:
    sys.path.insert(0, str(root))
    try:
        return importlib.import_module(entry.target)
    except ModuleNotFoundError as exc:
        if exc.name is not None and (entry.target + ".").startswith(exc.name + "."):
            raise _UnloadableError(
                f"entrypoint module {entry.target!r} cannot be found from {str(root)!r}; "
                "check the name, or use a file path such as train.py:main"
            ) from exc
        raise _UnloadableError(f"importing {entry.target!r} failed: {describe(exc)}") from exc
    except Exception as exc:
        raise _UnloadableError(f"importing {entry.target!r} failed: {describe(exc)}") from exc


def load(entry: Entrypoint, root: Path) -> Callable[..., Any]:
    """The entrypoint's function, checked to accept ``params`` and ``data``."""
    module = _load_file(entry, root) if entry.kind == "file" else _load_module(entry, root)
    function = getattr(module, entry.function, None)
    if function is None:
        defined = sorted(
            name
            for name, value in vars(module).items()
            if inspect.isfunction(value) and not name.startswith("_")
        )
        raise _UnloadableError(
            f"entrypoint {entry} not found: {entry.target!r} has no {entry.function!r}"
            f" (its functions: {', '.join(defined) or 'none'})"
        )
    if not callable(function):
        raise _UnloadableError(f"entrypoint {entry} is not a function")
    function = cast(Callable[..., Any], function)
    try:
        signature = inspect.signature(function)
    except (TypeError, ValueError):
        return function  # a builtin or extension callable: let the call tell
    try:
        signature.bind(params={}, data={})
    except TypeError as exc:
        raise _UnloadableError(
            f"entrypoint {entry} must accept the arguments params and data, as in "
            f"'def {entry.function}(params, data):', but its signature is "
            f"{entry.function}{signature} ({exc})"
        ) from exc
    return function


def _call(function: Callable[..., Any], params: Any, data: Any) -> tuple[Outcome, int]:
    try:
        value = function(params=params, data=data)
    except _Terminated:
        return Outcome(ok=False, error="the job was stopped (SIGTERM)"), EXIT_TERMINATED
    except SystemExit as exc:
        if exc.code is None or exc.code == 0:
            return Outcome(ok=True, result=None), EXIT_OK
        if isinstance(exc.code, int):
            return Outcome(ok=False, error=f"the entrypoint called sys.exit({exc.code})"), exc.code
        print(exc.code, file=sys.stderr)
        return Outcome(ok=False, error=f"the entrypoint exited: {exc.code}"), EXIT_RAISED
    except (Exception, KeyboardInterrupt) as exc:
        _without_first_frame(exc)
        traceback.print_exception(exc)
        return Outcome(ok=False, error=describe(exc)), EXIT_RAISED
    return _checked_result(value)


def _checked_result(value: Any) -> tuple[Outcome, int]:
    outcome = Outcome(ok=True, result=value)
    try:
        size = len(outcome.to_json().encode())
    except (TypeError, ValueError) as exc:
        return Outcome(
            ok=False,
            error=(
                f"the entrypoint returned a value that is not JSON-compatible ({exc}); "
                "return ids and numbers, e.g. {'run_id': ..., 'model_version': 3}"
            ),
        ), EXIT_RAISED
    if size > MAX_RESULT_BYTES:
        return Outcome(
            ok=False,
            error=(
                f"the entrypoint returned {size} bytes of JSON, more than {MAX_RESULT_BYTES}; "
                "return ids and numbers and log data as artifacts"
            ),
        ), EXIT_RAISED
    return outcome, EXIT_OK


def run(spec: dict[str, Any], root: Path) -> tuple[Outcome, int]:
    """Load and call the entrypoint described by ``spec``; the outcome and exit code."""
    try:
        entry = parse_entrypoint(str(spec.get("entrypoint", "")))
        function = load(entry, root)
    except (InvalidInputError, _UnloadableError) as exc:
        message = str(exc)
        print(f"werft: {message}", file=sys.stderr)
        return Outcome(ok=False, error=message), EXIT_UNLOADABLE
    # The entrypoint may parse sys.argv; it should not see the runner's.
    sys.argv = [entry.target]
    try:
        return _call(function, spec.get("params", {}), spec.get("data", {}))
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)


def _report(outcome: Outcome, *, result_file: str | None, marker: str | None) -> None:
    if result_file is not None:
        # Written aside and renamed: a reader sees the whole outcome or none.
        target = Path(result_file)
        partial = target.with_name(target.name + ".partial")
        partial.write_text(outcome.to_json(), encoding="utf-8")
        os.replace(partial, target)
    else:
        sys.stderr.flush()
        sys.stdout.write(f"\n{marker}{outcome.to_json()}\n")
        sys.stdout.flush()


def main(argv: list[str] | None = None) -> int:
    """The runner's command line; returns the exit code."""
    parser = argparse.ArgumentParser(prog="python -m " + (__spec__.name if __spec__ else "runner"))
    parser.add_argument("--job", required=True, help="JSON: entrypoint, params, data")
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--result-file", help="write the outcome JSON to this file")
    where.add_argument("--result-marker", help="print the outcome after this marker, last")
    args = parser.parse_args(argv)
    try:
        spec = json.loads(args.job)
    except ValueError as exc:
        parser.error(f"--job is not JSON: {exc}")
    if not isinstance(spec, dict):
        parser.error("--job must be a JSON object")
    signal.signal(signal.SIGTERM, _on_sigterm)
    outcome, code = run(spec, Path.cwd())
    _report(outcome, result_file=args.result_file, marker=args.result_marker)
    return code


if __name__ == "__main__":
    sys.exit(main())
