"""The dispatch tests' rig (a provider on loopback, tenants with a guest, the dispatcher on an
injected clock) and the whole pipeline, for the rate-limit tests."""

from __future__ import annotations

from tests.api.conftest import api, api_app, api_services, hotel, make_staff  # noqa: F401
from tests.dispatch.conftest import rig  # noqa: F401
from tests.pipeline.conftest import system  # noqa: F401
