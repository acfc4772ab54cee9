"""Repositories: one per feature, bound to a unit of work's session and tenant.

Every method is keyword-only, never takes a tenant id (the unit of work's is used) and filters
by tenant even though row-level security would already (defence in depth).
"""
