"""Assessment pages: dashboards."""
