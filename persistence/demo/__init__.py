"""The demo tenants: definitions in ``tenants``, knowledge in ``knowledge_base.json``."""
