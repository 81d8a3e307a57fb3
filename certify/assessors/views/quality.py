"""Assessment pages: quality."""
