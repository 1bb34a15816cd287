"""govchat.yaml: created once from the documented default, merged with defaults, checked strictly."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from govchat.render import render_synapse_config
from govchat.settings import DEFAULT_SETTINGS_FILE, SettingsError, load_settings
from synapse_modules.applications.config import parse_applications_config
from synapse_modules.public_channels.config import parse_public_channels_config


def write(data_dir: Path, text: str) -> None:
    data_dir.mkdir(parents=True, exist_ok=True)
    (data_dir / "govchat.yaml").write_text(text, encoding="utf-8")


def test_first_load_copies_the_documented_default(tmp_path: Path) -> None:
    settings = load_settings(tmp_path, 8008)
    assert (tmp_path / "govchat.yaml").read_text() == DEFAULT_SETTINGS_FILE.read_text()
    assert settings.server_name == "govchat.localhost"
    assert settings.public_baseurl == "http://127.0.0.1:8008/"


def test_existing_settings_file_is_never_overwritten(tmp_path: Path) -> None:
    write(tmp_path, "server_name: kerajaan.example.gov.my\n")
    load_settings(tmp_path, 8008)
    assert (tmp_path / "govchat.yaml").read_text() == "server_name: kerajaan.example.gov.my\n"


def test_missing_keys_take_their_documented_defaults(tmp_path: Path) -> None:
    write(tmp_path, "email:\n  smtp_host: mail.example.gov.my\n")
    settings = load_settings(tmp_path, 8008)
    assert settings.values["email"]["smtp_host"] == "mail.example.gov.my"
    assert settings.values["email"]["smtp_port"] == 587
    assert settings.values["media"]["max_upload_size_mb"] == 100
    assert any(agency.domain == "gov.my" for agency in settings.agencies)


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("server_name: [1, 2\n", "not valid YAML"),
        ("sever_name: x.gov.my\n", "sever_name"),
        ("email:\n  smtp_port: abc\n", "email.smtp_port"),
        ("email:\n  smtp_port: 70000\n", "email.smtp_port"),
        ("email:\n  smtp_port: true\n", "email.smtp_port"),
        ("email:\n  require_transport_security: 'no'\n", "email.require_transport_security"),
        ("email: yes\n", "email"),
        ("server_name: 'Kerajaan Malaysia'\n", "server_name"),
        ("public_baseurl: ftp://x\n", "public_baseurl"),
        ("registration:\n  agencies: []\n", "registration.agencies"),
        ("registration:\n  agencies:\n    - domain: GOV.MY\n      name: x\n      ministry: y\n", "registration.agencies"),
        ("registration:\n  agencies:\n    - domain: gov.my\n      name: x\n", "registration.agencies"),
        ("media:\n  max_upload_size_mb: 0\n", "media.max_upload_size_mb"),
        ("registration:\n  onboarding:\n    per_address_burst: 0\n", "registration.onboarding.per_address_burst"),
        ("registration:\n  onboarding:\n    per_ip_per_hour: lots\n", "registration.onboarding.per_ip_per_hour"),
        ("federation:\n  allowed_servers: ['not a server']\n", "federation.allowed_servers"),
        ("- just\n- a list\n", "mapping"),
    ],
)
def test_wrong_setting_is_one_line_naming_the_key(tmp_path: Path, text: str, key: str) -> None:
    write(tmp_path, text)
    with pytest.raises(SettingsError) as raised:
        load_settings(tmp_path, 8008)
    message = str(raised.value)
    assert key in message
    assert "\n" not in message


def test_rendered_config_is_standard_synapse_yaml_with_kept_secrets(tmp_path: Path) -> None:
    settings = load_settings(tmp_path, 18123)
    first = yaml.safe_load(render_synapse_config(settings).homeserver_config.read_text())
    second = yaml.safe_load(render_synapse_config(settings).homeserver_config.read_text())
    assert first["registration_shared_secret"] == second["registration_shared_secret"]
    assert first["macaroon_secret_key"] == second["macaroon_secret_key"]
    assert first["listeners"][0]["port"] == 18123
    assert first["listeners"][0]["bind_addresses"] == ["127.0.0.1"]
    assert first["registrations_require_3pid"] == ["email"]
    assert first["federation_domain_whitelist"] == []
    assert first["encryption_enabled_by_default_for_room_type"] == "invite"
    assert first["email"]["smtp_host"] == "127.0.0.1"
    assert oct((tmp_path / "secrets.yaml").stat().st_mode & 0o777) == "0o600"


def test_synapse_extra_is_merged_over_the_rendered_config(tmp_path: Path) -> None:
    write(tmp_path, "synapse_extra:\n  rc_message:\n    per_second: 5\n  email:\n    app_name: Uji\n")
    config = yaml.safe_load(render_synapse_config(load_settings(tmp_path, 8008)).homeserver_config.read_text())
    assert config["rc_message"] == {"per_second": 5}
    assert config["email"]["app_name"] == "Uji"
    assert config["email"]["smtp_host"] == "127.0.0.1"


def test_partner_servers_switch_federation_on_for_them_only(tmp_path: Path) -> None:
    write(tmp_path, "federation:\n  allowed_servers: [rakan.gov.my]\n")
    config = yaml.safe_load(render_synapse_config(load_settings(tmp_path, 8008)).homeserver_config.read_text())
    assert config["federation_domain_whitelist"] == ["rakan.gov.my"]
    assert "federation" in config["listeners"][0]["resources"][0]["names"]


def test_hiding_existing_accounts_is_a_setting_and_the_listener_is_loopback_only(tmp_path: Path) -> None:
    config = yaml.safe_load(render_synapse_config(load_settings(tmp_path, 8008)).homeserver_config.read_text())
    assert config["request_token_inhibit_3pid_errors"] is False
    # X-Forwarded-For is trusted, so only the reverse proxy on this machine may reach Synapse.
    assert all(listener["bind_addresses"] == ["127.0.0.1"] for listener in config["listeners"])
    assert config["enable_3pid_changes"] is False
    (tmp_path / "govchat.yaml").write_text("registration:\n  hide_existing_accounts: true\n", encoding="utf-8")
    config = yaml.safe_load(render_synapse_config(load_settings(tmp_path, 8008)).homeserver_config.read_text())
    assert config["request_token_inhibit_3pid_errors"] is True


def test_example_alert_rules_name_only_metrics_govchat_exports() -> None:
    import re

    import yaml

    from govchat.settings import PROJECT_ROOT

    rules = yaml.safe_load((PROJECT_ROOT / "config" / "prometheus-alerts.yml").read_text())
    names = {name for group in rules["groups"] for rule in group["rules"] for name in re.findall(r"\bgovchat_\w+", rule["expr"])}
    dashboard = (PROJECT_ROOT / "config" / "grafana-dashboard.json").read_text()
    # The dashboard test (tests/integration/test_metrics.py) checks these are exported by a running GovChat.
    assert names and all(name in dashboard for name in names), names - {n for n in names if n in dashboard}


def test_onboarding_profile_renders_synapse_per_address_limits_and_the_mailbox_limit(tmp_path: Path) -> None:
    (tmp_path / "govchat.yaml").write_text(
        "registration:\n  onboarding: {per_ip_burst: 500, per_ip_per_hour: 3600, per_address_burst: 2, per_address_per_hour: 4}\n",
        encoding="utf-8",
    )
    config = yaml.safe_load(render_synapse_config(load_settings(tmp_path, 8008)).homeserver_config.read_text())
    assert config["rc_3pid_validation"] == config["rc_registration"] == {"per_second": 1.0, "burst_count": 500}
    [auth] = [module for module in config["modules"] if module["module"] == "synapse_modules.govchat_auth.GovChatAuth"]
    assert auth["config"]["mails_per_address"] == {"per_address_burst": 2, "per_address_per_hour": 4}


def test_applications_create_channels_with_the_configured_channel_settings(tmp_path: Path) -> None:
    # A6 creates channels through the public_channels service: it must see the operator's channel settings.
    write(tmp_path, "channels:\n  info_name: MAKLUMAT\n  info_mandatory: false\n")
    config = yaml.safe_load(render_synapse_config(load_settings(tmp_path, 8008)).homeserver_config.read_text())
    modules = {module["module"]: module["config"] for module in config["modules"]}
    channels = parse_public_channels_config(modules["synapse_modules.public_channels.PublicChannels"])
    assert channels.info_name == "MAKLUMAT" and channels.info_mandatory is False
    assert parse_applications_config(modules["synapse_modules.applications.Applications"]).channels == channels
