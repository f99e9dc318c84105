"""What a maintainer runs: the checks of `nox -s ci` and the timing scripts."""
