"""The Docker path: compose.yaml is a valid Compose file whose settings frontdesk reads."""

from __future__ import annotations

import json
import shlex
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from typer.testing import CliRunner

from workers.cli import app
from workers.settings import Settings
from workers.supervisor import CONSUMERS

ROOT = Path(__file__).resolve().parents[2]
# The Compose Specification's schema (Apache-2.0, see LICENSE.compose-spec beside it).
SCHEMA = Path(__file__).with_name("compose-spec.json")


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((ROOT / "compose.yaml").read_text())
    return loaded


def _frontdesk_services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        name: service
        for name, service in compose["services"].items()
        if service.get("image") == "frontdesk:local"
    }


def test_compose_file_matches_the_compose_specification(compose: dict[str, Any]) -> None:
    schema = json.loads(SCHEMA.read_text())
    validator_class = jsonschema.validators.validator_for(schema)
    validator_class.check_schema(schema)
    errors = [
        f"{'/'.join(map(str, error.absolute_path))}: {error.message}"
        for error in validator_class(schema).iter_errors(compose)
    ]
    assert errors == []


def test_every_frontdesk_variable_compose_sets_is_a_setting(
    compose: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    known = {f"FRONTDESK_{name.upper()}" for name in Settings.model_fields}
    for name, service in _frontdesk_services(compose).items():
        environment: dict[str, str] = service.get("environment", {})
        set_here = {key for key in environment if key.startswith("FRONTDESK_")}
        assert set_here, f"{name} sets no FRONTDESK_ variable"
        assert set_here <= known, f"{name} sets variables no setting reads"
        for key, value in environment.items():
            monkeypatch.setenv(key, str(value))
        settings = Settings(_env_file=None)  # type: ignore[call-arg]
        assert settings.standin_url == environment["FRONTDESK_STANDIN_URL"]


def test_every_service_runs_a_command_the_cli_has(compose: dict[str, Any]) -> None:
    runner = CliRunner()
    for name, service in _frontdesk_services(compose).items():
        entrypoint = service.get("entrypoint")
        if entrypoint is None:
            commands = [service["command"]]
        elif entrypoint[:2] == ["sh", "-c"]:
            # A one-shot shell (the migrate service): each `frontdesk ...` in it.
            commands = [shlex.split(part)[1:] for part in entrypoint[2].split("&&")]
        else:
            continue  # not the frontdesk CLI (the stand-in)
        for command in commands:
            result = runner.invoke(app, [*command, "--help"])
            assert result.exit_code == 0, f"{name}: frontdesk {' '.join(command)}\n{result.output}"


def test_the_workers_run_every_consumer_frontdesk_up_runs(compose: dict[str, Any]) -> None:
    command = compose["services"]["workers"]["command"]
    assert command[0] == "worker"
    consumers = [part for part in command[1:] if not part.startswith("--") and not part.isdigit()]
    assert sorted(consumers) == sorted(CONSUMERS)


def test_demo_channels_reach_the_stand_in_service(compose: dict[str, Any]) -> None:
    standin = compose["services"]["standin"]
    assert standin["entrypoint"][:3] == ["python", "-m", "workers.standin"]
    # Listening on every interface of its container, so the others reach it.
    assert standin["entrypoint"][-2:] == ["--host", "0.0.0.0"]  # noqa: S104
    seeding = compose["services"]["migrate"]["environment"]
    assert seeding["FRONTDESK_STANDIN_URL"] == "http://standin:8025"
    assert "standin" in compose["services"]["dispatcher"]["depends_on"]


def test_broker_keeps_its_data_across_container_recreation(compose: dict[str, Any]) -> None:
    rabbitmq = compose["services"]["rabbitmq"]
    assert rabbitmq.get("hostname"), "the node name (and its data directory) follows it"
    assert any(volume.endswith(":/var/lib/rabbitmq") for volume in rabbitmq["volumes"])


def test_docker_build_context_leaves_out_local_state() -> None:
    patterns = {
        line.strip()
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    }
    assert {".venv", ".git", "bench/out", "**/__pycache__"} <= patterns
