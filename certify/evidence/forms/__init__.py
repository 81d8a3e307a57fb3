"""Evidence forms, split by subject."""
