"""What an instructor runs: release (a student copy without solutions) and grade."""
