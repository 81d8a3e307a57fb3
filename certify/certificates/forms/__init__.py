"""Forms of the certification pages."""
