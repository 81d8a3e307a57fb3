"""Every write about accounts, providers and enrolments, split by subject.

Operations flush and write their audit entries; the caller commits once.
"""
