"""A real OpenLDAP (Debian's slapd) for the directory tests, on a free loopback port.

`LdapServer` writes a throw-away slapd.conf (mdb backend, one suffix, a root DN),
starts `/usr/sbin/slapd` in the foreground as a subprocess, and manages entries
with ldap3. Without slapd the tests fail (they do not skip): CI installs it
(`.ci/run`); locally `apt-get install slapd ldap-utils`.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

import ldap3

from tests.harness import free_port

SLAPD = Path("/usr/sbin/slapd")
SCHEMA_DIR = Path("/etc/ldap/schema")
MODULE_DIR = Path("/usr/lib/ldap")
STARTUP_TIMEOUT_SECONDS = 20

_CONFIG = """\
include {schema}/core.schema
include {schema}/cosine.schema
include {schema}/inetorgperson.schema
modulepath {modules}
moduleload back_mdb
pidfile {state}/slapd.pid
argsfile {state}/slapd.args
database mdb
suffix "{suffix}"
rootdn "{root_dn}"
rootpw {root_password}
directory {state}/data
maxsize 10485760
"""


@dataclass
class LdapServer:
    state_dir: Path
    suffix: str = "dc=mampu,dc=gov,dc=my"
    root_password: str = "rahsia-ujian"
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"ldap://127.0.0.1:{self.port}"

    @property
    def root_dn(self) -> str:
        return f"cn=admin,{self.suffix}"

    @property
    def people_dn(self) -> str:
        return f"ou=people,{self.suffix}"

    def start(self) -> None:
        if not SLAPD.exists():
            raise RuntimeError(f"{SLAPD} is missing: install Debian's slapd and ldap-utils (see .ci/run)")
        first_start = not (self.state_dir / "slapd.conf").exists()
        if first_start:
            (self.state_dir / "data").mkdir(parents=True, exist_ok=True)
            config = _CONFIG.format(
                schema=SCHEMA_DIR, modules=MODULE_DIR, state=self.state_dir, suffix=self.suffix,
                root_dn=self.root_dn, root_password=self.root_password,
            )
            (self.state_dir / "slapd.conf").write_text(config, encoding="utf-8")
        log = open(self.state_dir / "slapd.log", "ab")
        # -d 0: stay in the foreground (so we own the process) without debug output.
        self.process = subprocess.Popen(
            [str(SLAPD), "-f", str(self.state_dir / "slapd.conf"), "-h", f"{self.url}/", "-d", "0"],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        self._wait_until_listening()
        if first_start:
            self._add_base_entries()

    def stop(self) -> None:
        if self.process is None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.process = None

    def _wait_until_listening(self) -> None:
        assert self.process is not None
        deadline = time.monotonic() + STARTUP_TIMEOUT_SECONDS
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                log = (self.state_dir / "slapd.log").read_text(errors="replace")
                raise RuntimeError(f"slapd exited with {self.process.returncode}: {log}")
            with socket.socket() as probe:
                if probe.connect_ex(("127.0.0.1", self.port)) == 0:
                    return
            time.sleep(0.05)
        raise RuntimeError(f"slapd did not listen on port {self.port} in time")

    # --- entries ----------------------------------------------------------------

    def connection(self) -> ldap3.Connection:
        return ldap3.Connection(ldap3.Server(self.url), user=self.root_dn, password=self.root_password, auto_bind=True, raise_exceptions=True)

    def _add_base_entries(self) -> None:
        top = self.suffix.split(",")[0].split("=")[1]
        with self.connection() as ldap:
            ldap.add(self.suffix, ["dcObject", "organization"], {"dc": top, "o": "Agensi Ujian"})
            ldap.add(self.people_dn, ["organizationalUnit"], {"ou": "people"})

    def person_dn(self, mail: str) -> str:
        return f"uid={mail.split('@')[0]},{self.people_dn}"

    def add_person(self, mail: str, name: str, disabled: bool = False) -> None:
        attributes = {"cn": name, "sn": name.split()[-1], "mail": mail, "uid": mail.split("@")[0]}
        if disabled:
            attributes["employeeType"] = "disabled"
        with self.connection() as ldap:
            ldap.add(self.person_dn(mail), ["inetOrgPerson"], attributes)

    def disable(self, mail: str) -> None:
        with self.connection() as ldap:
            ldap.modify(self.person_dn(mail), {"employeeType": [(ldap3.MODIFY_REPLACE, ["disabled"])]})

    def remove(self, mail: str) -> None:
        with self.connection() as ldap:
            ldap.delete(self.person_dn(mail))


def cleanup(server: LdapServer) -> None:
    server.stop()
    shutil.rmtree(server.state_dir, ignore_errors=True)
