"""Evidence pages, split by subject; importing this module attaches every route to ``bp``."""

from certify.evidence import bp

__all__ = ["bp"]
