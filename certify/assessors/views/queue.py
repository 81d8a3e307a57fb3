"""Assessment pages: queue."""
