"""Demonstration data for `make run`, written for certify (not copied from published units)."""
