"""What every command line of the repository shares: a bad option said in one line."""

from __future__ import annotations

import argparse
from typing import NoReturn


class Parser(argparse.ArgumentParser):
    """argparse, where a bad option is one line that says what is wrong and where the options are listed,
    instead of argparse's usage block."""

    def error(self, message: str) -> NoReturn:
        if not self.add_help:  # options read on the way to another program (pytest): the message alone
            self.exit(2, f"{message}\n")
        self.exit(2, f"{self.prog}: error: {message} (`{self.prog} --help` lists the options)\n")
