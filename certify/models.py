"""Every model module, imported so that Base.metadata (and Alembic) sees the whole schema."""

from certify.accounts import models as accounts  # noqa: F401
from certify.assessors import models as assessors  # noqa: F401
from certify.certificates import models as certificates  # noqa: F401
from certify.core import models as core  # noqa: F401
from certify.evidence import models as evidence  # noqa: F401
from certify.units import models as units  # noqa: F401
