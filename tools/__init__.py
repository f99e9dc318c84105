"""Maintainer and learner tooling: the kata manifest, the stub generator, progress, hints."""
