"""The `govchat` console command.

Commands that change or read homeserver data go through GovChat's admin HTTP
API, so they behave exactly like the API and need an administrator's access
token (`--token` or GOVCHAT_ADMIN_TOKEN).
"""

from __future__ import annotations

import argparse
import json
import sys
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from govchat.backup import BackupError, backup, restore
from govchat.cli_circulars import add_circular_commands
from govchat.cli_common import CommandError, add_admin_options, admin_request
from govchat.cli_directory import add_directory_commands
from govchat.cli_outbox import add_outbox_commands
from govchat.cli_report import add_report_commands
from govchat.deploy import DeployPlan, write_deployment
from govchat.launcher import StartupError, run, upgrade_schema
from govchat.migrate import MigrationFailed, MigrationRefused, migrate
from govchat.permissions import owner_only_from_now_on
from govchat.render import render_synapse_config
from govchat.settings import Settings, SettingsError, data_dir_from_env, load_settings, port_from_env


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    arguments = parser.parse_args(argv)
    # Before the first file is written (govchat.yaml, the rendered config, the database).
    owner_only_from_now_on()
    try:
        if getattr(arguments, "restores", False):
            # Restore writes the settings file itself: loading it first would fill the empty data folder.
            return _restore(arguments)
        settings = load_settings(data_dir_from_env(), port_from_env())
        return int(arguments.handler(settings, arguments))
    except BackupError as error:
        print(f"govchat: {error}", file=sys.stderr)
        return 1
    except (SettingsError, StartupError, CommandError) as error:
        print(f"govchat: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:  # Ctrl-C before `govchat run` took over the signal
        print("govchat: interrupted", file=sys.stderr)
        return 130


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="govchat", description="Run and administer GovChat.")
    commands = parser.add_subparsers(required=True, metavar="COMMAND")

    run_command = commands.add_parser("run", help="render the config and start every GovChat service")
    run_command.set_defaults(handler=lambda settings, arguments: run(settings))

    render_command = commands.add_parser("render", help="render Synapse's config without starting anything")
    render_command.set_defaults(handler=_render)

    schema = commands.add_parser("schema", help="GovChat's own database tables")
    schema_commands = schema.add_subparsers(required=True, metavar="COMMAND")
    upgrade = schema_commands.add_parser("upgrade", help="create or upgrade GovChat's tables (govchat run does it too)")
    upgrade.set_defaults(handler=_upgrade_schema)

    migrate_command = commands.add_parser(
        "migrate-to-postgresql",
        help="move this data folder's SQLite database to PostgreSQL (GovChat stopped; homeserver.db is kept)",
    )
    migrate_command.set_defaults(handler=_migrate_to_postgresql)

    backup_command = commands.add_parser(
        "backup", help="copy the database, media, secrets and keys, the bot's store and the settings into an empty folder (online)"
    )
    backup_command.add_argument("out_dir", type=Path, help="a new or empty folder outside the data folder")
    backup_command.set_defaults(handler=_backup)
    restore_command = commands.add_parser("restore", help="restore a backup into an empty data folder ($GOVCHAT_DATA_DIR)")
    restore_command.add_argument("backup_dir", type=Path, help="a folder written by `govchat backup`")
    restore_command.set_defaults(restores=True)

    users = commands.add_parser("users", help="accounts and their agencies")
    users_commands = users.add_subparsers(required=True, metavar="COMMAND")
    agencies = users_commands.add_parser("agencies", help="list each user's agency, recorded at registration")
    add_admin_options(agencies)
    agencies.add_argument("--json", action="store_true", help="print JSON instead of a table")
    agencies.set_defaults(handler=_list_user_agencies)

    deploy = commands.add_parser("deploy-config", help="write Synapse, nginx and systemd files for a multi-host worker layout")
    deploy.add_argument("out_dir", type=Path, help="an empty folder to write into")
    deploy.add_argument("--main-host", required=True, help="address of the host for the main process, stream writer, background and media workers and nginx")
    deploy.add_argument("--worker-host", action="append", default=[], help="address of a host for client workers (repeat; spread round robin)")
    deploy.add_argument("--client-workers", type=int, default=2, help="how many client workers (default 2)")
    deploy.add_argument("--install-dir", type=Path, default=Path("/opt/govchat"), help="where GovChat is installed on the hosts")
    deploy.add_argument("--data-dir", type=Path, default=Path("/var/lib/govchat"), help="GovChat's data folder on the hosts")
    deploy.add_argument("--listen", default="0.0.0.0:8008", help="nginx's listening address on the main host")
    deploy.set_defaults(handler=_deploy_config)

    _add_channel_commands(commands)
    add_directory_commands(commands)
    add_report_commands(commands)
    add_circular_commands(commands)
    add_outbox_commands(commands)
    return parser


def _add_channel_commands(commands: Any) -> None:
    channels = commands.add_parser("channels", help="public channels: create, list, owners, archive")
    channel_commands = channels.add_subparsers(required=True, metavar="COMMAND")
    create = channel_commands.add_parser("create", help="create a public channel in the directory")
    create.add_argument("--name", required=True, help="the channel's name, e.g. 'Pengumuman JPA'")
    create.add_argument("--alias", required=True, help="alias localpart or full alias, e.g. pengumuman-jpa")
    create.add_argument("--topic", default="", help="the channel's topic")
    create.add_argument("--owner", action="append", default=[], help="an owner's user ID (repeat for several)")
    create.set_defaults(handler=_create_channel)
    listing = channel_commands.add_parser("list", help="list channels with owners and member counts")
    listing.add_argument("--json", action="store_true", help="print JSON instead of a table")
    listing.set_defaults(handler=_list_channels)
    for name, help_text, handler in (
        ("add-owner", "appoint an owner (who is joined to the channel)", _add_channel_owner),
        ("remove-owner", "remove an owner; they keep reading", _remove_channel_owner),
    ):
        command = channel_commands.add_parser(name, help=help_text)
        command.add_argument("channel", help="room ID or alias, e.g. '#pengumuman-jpa:govchat.localhost'")
        command.add_argument("user_id", help="the owner's user ID")
        command.set_defaults(handler=handler)
    archive = channel_commands.add_parser("archive", help="make a channel read-only and remove it from the directory")
    archive.add_argument("channel", help="room ID or alias")
    archive.set_defaults(handler=_archive_channel)
    for command in channel_commands.choices.values():
        add_admin_options(command)


def _deploy_config(settings: Settings, arguments: argparse.Namespace) -> int:
    out_dir: Path = arguments.out_dir
    if out_dir.exists() and any(out_dir.iterdir()):
        raise CommandError(f"{out_dir}: not empty; deploy-config writes into an empty folder only")
    plan = DeployPlan(
        main_host=arguments.main_host,
        worker_hosts=arguments.worker_host or [arguments.main_host],
        client_workers=arguments.client_workers,
        install_dir=arguments.install_dir,
        data_dir=arguments.data_dir,
        listen=arguments.listen,
    )
    layout = write_deployment(settings, plan, out_dir)
    for process in layout.processes:
        print(f"{process.host:20} {process.name:15} {process.http.upstream()}")
    print(f"Written to {out_dir}; read {out_dir / 'HOSTS.md'} for what to copy where.")
    return 0


def _backup(settings: Settings, arguments: argparse.Namespace) -> int:
    backup(settings, arguments.out_dir)
    return 0


def _restore(arguments: argparse.Namespace) -> int:
    restore(arguments.backup_dir, data_dir_from_env(), port_from_env())
    return 0


def _render(settings: Settings, arguments: argparse.Namespace) -> int:
    rendered = render_synapse_config(settings)
    print(rendered.homeserver_config)
    return 0


def _upgrade_schema(settings: Settings, arguments: argparse.Namespace) -> int:
    applied = upgrade_schema(render_synapse_config(settings).homeserver_config)
    print(f"applied migrations {', '.join(map(str, applied))}" if applied else "GovChat's tables are up to date")
    return 0


def _migrate_to_postgresql(settings: Settings, arguments: argparse.Namespace) -> int:
    try:
        return migrate(settings)
    except MigrationRefused as error:
        raise CommandError(str(error)) from None
    except MigrationFailed as error:
        print(f"govchat: {error}", file=sys.stderr)
        return 1


def _list_user_agencies(settings: Settings, arguments: argparse.Namespace) -> int:
    users: list[dict[str, Any]] = []
    since = ""
    while True:
        query = f"?from={since}" if since else ""
        page = admin_request(settings, arguments, "GET", f"/users/agencies{query}")
        users.extend(page["users"])
        since = page.get("next_from") or ""
        if not since:
            break
    if arguments.json:
        print(json.dumps({"users": users}, ensure_ascii=False, indent=2))
        return 0
    for user in users:
        agency = user["agency"]
        print(f"{user['user_id']}\t{user['email']}\t{agency['domain']}\t{agency['name']}\t{agency['ministry']}")
    return 0


def _create_channel(settings: Settings, arguments: argparse.Namespace) -> int:
    body = {"name": arguments.name, "alias": arguments.alias, "topic": arguments.topic, "owners": arguments.owner}
    _print_channel(admin_request(settings, arguments, "POST", "/channels", body))
    return 0


def _list_channels(settings: Settings, arguments: argparse.Namespace) -> int:
    channels = admin_request(settings, arguments, "GET", "/channels")["channels"]
    if arguments.json:
        print(json.dumps({"channels": channels}, ensure_ascii=False, indent=2))
        return 0
    for channel in channels:
        _print_channel(channel)
    return 0


def _add_channel_owner(settings: Settings, arguments: argparse.Namespace) -> int:
    path = f"/channels/{_quoted(arguments.channel)}/owners"
    _print_channel(admin_request(settings, arguments, "POST", path, {"user_id": arguments.user_id}))
    return 0


def _remove_channel_owner(settings: Settings, arguments: argparse.Namespace) -> int:
    path = f"/channels/{_quoted(arguments.channel)}/owners/{_quoted(arguments.user_id)}"
    _print_channel(admin_request(settings, arguments, "DELETE", path))
    return 0


def _archive_channel(settings: Settings, arguments: argparse.Namespace) -> int:
    _print_channel(admin_request(settings, arguments, "POST", f"/channels/{_quoted(arguments.channel)}/archive", {}))
    return 0


def _print_channel(channel: dict[str, Any]) -> None:
    state = "archived" if channel["archived"] else ("info" if channel["info"] else "open")
    owners = ",".join(channel["owners"]) or "-"
    print(f"{channel['room_id']}\t{channel['alias']}\t{channel['name']}\t{state}\t{channel['member_count']}\t{owners}")


def _quoted(value: str) -> str:
    return urllib.parse.quote(value, safe="")




if __name__ == "__main__":
    sys.exit(main())
