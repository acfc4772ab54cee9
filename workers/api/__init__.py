"""The management API (`frontdesk api`): sign-in, permissions and tenant configuration."""
