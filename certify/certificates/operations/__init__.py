"""Every write of certification: issuing, revoking and reissuing certificates."""
