"""docker-compose.yml: valid YAML, and the app logs in as the logins its `roles`
service makes (db/roles/create_login_roles.sh's default names) before it starts."""

import re
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "db" / "roles" / "create_login_roles.sh"


def compose() -> dict[str, Any]:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def script_default(variable: str) -> str:
    found = re.search(rf'^: "\${{{variable}:=([a-z_]+)}}"$', SCRIPT.read_text(), re.MULTILINE)
    assert found, variable
    return found[1]


def test_the_app_logs_in_as_the_owner_writer_and_reader_logins() -> None:
    environment = compose()["services"]["app"]["environment"]

    users = {
        name: urlsplit(environment[name]).username
        for name in ("DATABASE_URL", "WRITER_DATABASE_URL", "READER_DATABASE_URL")
    }

    assert users == {
        "DATABASE_URL": script_default("MONITOR_OWNER_LOGIN"),
        "WRITER_DATABASE_URL": script_default("MONITOR_WRITER_LOGIN"),
        "READER_DATABASE_URL": script_default("MONITOR_READER_LOGIN"),
    }


def test_the_app_starts_once_the_roles_service_made_the_logins() -> None:
    services = compose()["services"]
    roles = services["roles"]

    mount, target = roles["volumes"][0].split(":")[:2]
    assert (ROOT / mount / Path(roles["entrypoint"][0]).relative_to(target)) == SCRIPT
    assert services["app"]["depends_on"]["roles"] == {"condition": "service_completed_successfully"}
    assert "5432" not in str(services["db"].get("ports", ""))
