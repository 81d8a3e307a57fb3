"""Forms for accounts, split by subject."""
