"""Configuration commands the API routes and the admin CLI share: each writes its rows and one
``config_audit`` row in the caller's unit of work; the caller commits."""
