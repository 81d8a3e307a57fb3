"""Every write to the evidence portfolio, split by subject (flush only; the caller commits)."""
