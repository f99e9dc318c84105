"""tools/settings.py: each setting from its option, else its environment variable, else its default; a bad one is
one line naming the variable."""

from __future__ import annotations

from pathlib import Path

import pytest

from tools.manifest import ROOT
from tools.settings import TIMEOUT, Settings, SettingsError, resolve


def test_the_defaults_without_options_or_environment() -> None:
    assert resolve(environ={}) == Settings("katas", ROOT, TIMEOUT)
    assert resolve(environ={}).elsewhere is None


def test_the_environment_is_read_when_no_option_is_given(tmp_path: Path) -> None:
    environ = {"KATA_TRACK": "solutions", "KATA_ROOT": str(tmp_path), "KATA_TIMEOUT": "2.5"}
    settings = resolve(environ=environ)
    assert settings == Settings("solutions", tmp_path, 2.5)
    assert settings.elsewhere == tmp_path


def test_an_option_wins_over_the_environment_which_is_then_not_read() -> None:
    environ = {"KATA_TRACK": "bogus", "KATA_TIMEOUT": "-1"}
    assert resolve("katas", 60.0, environ) == Settings("katas", ROOT, 60.0)


def test_an_empty_kata_root_is_this_repository() -> None:
    assert resolve(environ={"KATA_ROOT": ""}).root == ROOT


@pytest.mark.parametrize(
    ("environ", "line"),
    [
        ({"KATA_TRACK": "bogus"}, "KATA_TRACK='bogus' is not a track: choose one of katas, solutions"),
        ({"KATA_TIMEOUT": "0"}, "KATA_TIMEOUT: '0' is not a time limit: give a number of seconds greater than 0"),
        ({"KATA_TIMEOUT": "soon"}, "KATA_TIMEOUT: 'soon' is not a time limit"),
    ],
)
def test_a_bad_variable_is_one_line_that_names_it(environ: dict[str, str], line: str) -> None:
    with pytest.raises(SettingsError) as raised:
        resolve(environ=environ)
    assert str(raised.value).startswith(line) and "\n" not in str(raised.value), raised.value
