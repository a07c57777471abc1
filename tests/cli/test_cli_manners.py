"""The command line explains itself: help on every option, a version, shell completion,
and no traceback when its reader goes away."""

from __future__ import annotations

import argparse
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from lantern.cli import parser


def every_parser(
    p: argparse.ArgumentParser, path: str = "lantern"
) -> Iterator[tuple[str, argparse.ArgumentParser]]:
    yield path, p
    for action in p._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from every_parser(sub, f"{path} {name}")


def test_every_option_and_argument_of_every_command_has_help() -> None:
    missing = [
        f"{path}: {action.option_strings or action.dest}"
        for path, p in every_parser(parser())
        for action in p._actions
        if not isinstance(action, argparse._HelpAction | argparse._VersionAction)
        and not isinstance(action, argparse._SubParsersAction)
        and action.help != argparse.SUPPRESS
        and not (action.help or "").strip()
    ]
    assert not missing, "\n".join(missing)


def test_every_command_says_what_it_does() -> None:
    for action in parser()._actions:
        if isinstance(action, argparse._SubParsersAction):
            helps = {c.dest: c.help for c in action._choices_actions}
            assert all(helps.values()), [k for k, v in helps.items() if not v]


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "lantern.cli", *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_version() -> None:
    result = run("--version")
    assert result.returncode == 0
    assert result.stdout.startswith("lantern 0.")


@pytest.mark.parametrize("shell", ["bash", "zsh"])
def test_shell_completion_knows_the_commands_and_their_options(shell: str) -> None:
    result = run("completion", shell)
    assert result.returncode == 0, result.stderr
    for word in ("dispatches", "--responder", "audit", "--offline", "report", "--category"):
        assert word in result.stdout
    if shell == "bash":
        checked = subprocess.run(["bash", "-n"], input=result.stdout, text=True, check=False)
        assert checked.returncode == 0


def test_json_into_a_closed_pipe_ends_quietly(tmp_path: Path) -> None:
    """`lantern docs asyncapi | head -1`: head leaves after one line; no traceback."""
    pipeline = subprocess.run(
        f"{sys.executable} -m lantern.cli --data-dir {tmp_path} docs asyncapi | head -1; "
        'echo "status ${PIPESTATUS[0]}"',
        shell=True,
        executable="/bin/bash",
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert pipeline.stdout.splitlines() == ["{", "status 0"]
    assert "Traceback" not in pipeline.stderr
    assert "BrokenPipeError" not in pipeline.stderr
    assert pipeline.stderr == ""
