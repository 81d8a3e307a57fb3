"""Every write of assessment, by subject: assignment, marking and signing, decisions,
quality assurance, appeals, conflicts of interest."""
