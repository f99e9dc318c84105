"""What a learner runs: progress, watch, hint, reset, train."""
