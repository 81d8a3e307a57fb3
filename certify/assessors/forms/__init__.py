"""Assessment forms, split by subject."""
