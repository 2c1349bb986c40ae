"""Runs ``nwb-it`` on many files inside ONE child process (started by tests/test_robustness.py).

Each case's exit code and stderr are collected; a crash of the interpreter (segfault)
ends the child, which fails the test that started it.
"""
from __future__ import annotations

import contextlib
import io
import json
import sys


def main() -> None:
    from nwb_it.cli import main as cli

    cases = json.loads(sys.stdin.read())
    results = []
    for argv in cases:
        err = io.StringIO()
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
            try:
                code = cli(argv)
            except BaseException as exc:  # a traceback is a failure the test reports
                code = f"raised {type(exc).__name__}: {exc}"
        results.append({"argv": argv, "code": code, "stderr": err.getvalue()})
    print(json.dumps(results))


if __name__ == "__main__":
    main()
