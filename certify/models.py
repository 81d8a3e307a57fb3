"""Every model module, imported so that Base.metadata (and Alembic) sees the whole schema."""

from certify.units import models as units  # noqa: F401
