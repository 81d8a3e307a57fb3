"""Catalogue pages."""

from certify.units import bp

__all__ = ["bp"]
