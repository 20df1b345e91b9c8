"""A real OpenLDAP ``slapd`` for tests: started on 127.0.0.1 from a generated config.

The directory has an AD-like schema of its own (Debian's ``msuser.schema`` has no
EQUALITY rules, so filters on ``sAMAccountName`` would never match), the
``memberof`` and ``refint`` overlays, a size limit so that only paged searches
can read everything, and LDAPS/StartTLS with a CA generated here.

Entries are loaded over LDAP (never ``slapadd``: it bypasses the overlays).
The bind account the connector uses is an ordinary entry, not the rootdn, because
limits do not apply to the rootdn.

Fixtures: ``slapd`` (session scope, started once), ``slapd_factory`` (start an
extra, private server, e.g. one a test stops mid-run).
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from ipaddress import IPv4Address
from pathlib import Path

import ldap3
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

SLAPD = shutil.which("slapd") or "/usr/sbin/slapd"
SCHEMA_DIR = Path("/etc/ldap/schema")
BASE_DN = "dc=example,dc=com"
ADMIN_DN = f"cn=admin,{BASE_DN}"
SERVICE_DN = f"cn=svc-pip,ou=service,{BASE_DN}"
SIZE_LIMIT = 20  # unpaged searches stop here; paged ones read everything
MAX_PAGE_SIZE = 1000  # size.pr: a bigger page is refused with adminLimitExceeded

# Real AD OIDs (MS-ADA1..3) with the EQUALITY rules Debian's msuser.schema lacks.
AD_LIKE_SCHEMA = """
attributetype ( 1.2.840.113556.1.4.221 NAME 'sAMAccountName'
  EQUALITY caseIgnoreMatch SUBSTR caseIgnoreSubstringsMatch
  SYNTAX 1.3.6.1.4.1.1466.115.121.1.15 SINGLE-VALUE )
attributetype ( 1.2.840.113556.1.4.656 NAME 'userPrincipalName'
  EQUALITY caseIgnoreMatch SYNTAX 1.3.6.1.4.1.1466.115.121.1.15 SINGLE-VALUE )
attributetype ( 1.2.840.113556.1.4.8 NAME 'userAccountControl'
  EQUALITY integerMatch ORDERING integerOrderingMatch
  SYNTAX 1.3.6.1.4.1.1466.115.121.1.27 SINGLE-VALUE )
attributetype ( 1.2.840.113556.1.4.2 NAME 'objectGUID'
  EQUALITY octetStringMatch SYNTAX 1.3.6.1.4.1.1466.115.121.1.40 SINGLE-VALUE )
attributetype ( 1.2.840.113556.1.4.146 NAME 'objectSid'
  EQUALITY octetStringMatch SYNTAX 1.3.6.1.4.1.1466.115.121.1.40 SINGLE-VALUE )
attributetype ( 1.2.840.113556.1.4.1696 NAME 'lastLogonTimestamp'
  EQUALITY integerMatch ORDERING integerOrderingMatch
  SYNTAX 1.3.6.1.4.1.1466.115.121.1.27 SINGLE-VALUE )
attributetype ( 1.2.840.113556.1.2.141 NAME 'department'
  EQUALITY caseIgnoreMatch SYNTAX 1.3.6.1.4.1.1466.115.121.1.15 SINGLE-VALUE )
attributetype ( 1.2.840.113556.1.4.35 NAME 'employeeID'
  EQUALITY caseIgnoreMatch SYNTAX 1.3.6.1.4.1.1466.115.121.1.15 SINGLE-VALUE )
attributetype ( 1.2.840.113556.1.4.363 NAME 'operatingSystem'
  EQUALITY caseIgnoreMatch SYNTAX 1.3.6.1.4.1.1466.115.121.1.15 SINGLE-VALUE )
attributetype ( 1.2.840.113556.1.4.364 NAME 'operatingSystemVersion'
  EQUALITY caseIgnoreMatch SYNTAX 1.3.6.1.4.1.1466.115.121.1.15 SINGLE-VALUE )
attributetype ( 1.2.840.113556.1.4.619 NAME 'dNSHostName'
  EQUALITY caseIgnoreMatch SYNTAX 1.3.6.1.4.1.1466.115.121.1.15 SINGLE-VALUE )
objectclass ( 1.2.840.113556.1.5.9 NAME 'user' SUP inetOrgPerson STRUCTURAL
  MAY ( sAMAccountName $ userPrincipalName $ userAccountControl $ objectGUID $
        objectSid $ lastLogonTimestamp $ department $ employeeID ) )
objectclass ( 1.2.840.113556.1.5.8 NAME 'group' SUP top STRUCTURAL MUST cn
  MAY ( member $ sAMAccountName $ description $ objectGUID $ objectSid ) )
objectclass ( 1.2.840.113556.1.5.30 NAME 'computer' SUP top STRUCTURAL MUST cn
  MAY ( sAMAccountName $ dNSHostName $ operatingSystem $ operatingSystemVersion $
        userAccountControl $ objectGUID $ objectSid $ lastLogonTimestamp $ description ) )
"""


@dataclass
class TlsFiles:
    """A CA and a server certificate for 127.0.0.1/localhost signed by it."""

    ca_pem: str
    ca_file: Path
    cert_file: Path
    key_file: Path


@dataclass
class Slapd:
    """One running slapd and how to reach it."""

    workdir: Path
    port: int
    ldaps_port: int
    tls: TlsFiles = field(repr=False)
    admin_password: str = field(default="admin-secret", repr=False)
    service_password: str = field(default="svc-Pa55-word!", repr=False)
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    base_dn: str = BASE_DN
    admin_dn: str = ADMIN_DN
    service_dn: str = SERVICE_DN

    @property
    def url(self) -> str:
        return f"ldap://127.0.0.1:{self.port}"

    @property
    def ldaps_url(self) -> str:
        return f"ldaps://127.0.0.1:{self.ldaps_port}"

    def admin(self) -> ldap3.Connection:
        """A bound rootdn connection for loading and changing entries."""
        server = ldap3.Server("127.0.0.1", port=self.port, get_info=ldap3.NONE)
        return ldap3.Connection(
            server, self.admin_dn, self.admin_password, auto_bind=True, raise_exceptions=True
        )

    def start(self) -> None:
        """Start slapd (again) on the same ports and data, and wait until it answers."""
        urls = f"{self.url}/ ldaps://127.0.0.1:{self.ldaps_port}/"
        command = [SLAPD, "-f", str(self.workdir / "slapd.conf"), "-h", urls, "-d", "0"]
        with (self.workdir / "slapd.log").open("ab") as log:
            self.process = subprocess.Popen(command, stdout=log, stderr=log)
        _wait_for_port(self.port, self.process, self.workdir / "slapd.log")

    def stop(self) -> None:
        """Stop slapd and wait for it to exit."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def free_port() -> int:
    """A TCP port on 127.0.0.1 nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_for_port(port: int, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"slapd exited: {log.read_text(errors='replace')[-2000:]}")
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.02)
    raise RuntimeError("slapd did not answer within 10 s")


def make_tls_files(directory: Path) -> TlsFiles:
    """A self-signed CA and a server certificate for 127.0.0.1 and localhost."""
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "PIP test CA")])
    ca_cert = _certificate(ca_name, ca_name, ca_key.public_key(), ca_key, is_ca=True)
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    cert = _certificate(name, ca_name, key.public_key(), ca_key, is_ca=False)
    ca_pem = ca_cert.public_bytes(serialization.Encoding.PEM).decode()
    files = TlsFiles(
        ca_pem, directory / "ca.pem", directory / "server.pem", directory / "server.key"
    )
    files.ca_file.write_text(ca_pem)
    files.cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    files.key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return files


def _certificate(
    subject: x509.Name,
    issuer: x509.Name,
    public_key: ec.EllipticCurvePublicKey,
    signing_key: ec.EllipticCurvePrivateKey,
    *,
    is_ca: bool,
) -> x509.Certificate:
    now = dt.datetime.now(dt.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=2))
        .add_extension(x509.BasicConstraints(ca=is_ca, path_length=None), critical=True)
    )
    if not is_ca:
        names = [x509.IPAddress(IPv4Address("127.0.0.1")), x509.DNSName("localhost")]
        builder = builder.add_extension(x509.SubjectAlternativeName(names), critical=False)
    return builder.sign(signing_key, hashes.SHA256())


def write_config(server: Slapd) -> None:
    """Write slapd.conf and the AD-like schema into the server's work directory."""
    work = server.workdir
    (work / "adlike.schema").write_text(AD_LIKE_SCHEMA)
    (work / "db").mkdir(exist_ok=True)
    schemas = ["core", "cosine", "inetorgperson"]
    includes = "\n".join(f"include {SCHEMA_DIR / name}.schema" for name in schemas)
    rootpw = _slappasswd(server.admin_password)
    limits = f"sizelimit size.soft={SIZE_LIMIT} size.hard={SIZE_LIMIT} size.pr={MAX_PAGE_SIZE}"
    limits += " size.prtotal=unlimited"
    (work / "slapd.conf").write_text(
        f"""{includes}
include {work / "adlike.schema"}
pidfile {work / "slapd.pid"}
argsfile {work / "slapd.args"}
modulepath /usr/lib/ldap
moduleload back_mdb
moduleload memberof
moduleload refint
TLSCACertificateFile {server.tls.ca_file}
TLSCertificateFile {server.tls.cert_file}
TLSCertificateKeyFile {server.tls.key_file}
{limits}
database mdb
maxsize 2147483648
suffix "{BASE_DN}"
rootdn "{ADMIN_DN}"
rootpw {rootpw}
directory {work / "db"}
dbnosync
index objectClass eq
index sAMAccountName,userPrincipalName,mail,cn eq
index member,memberOf eq
index modifyTimestamp eq
access to attrs=userPassword by self write by anonymous auth by * none
access to * by * read
overlay memberof
memberof-group-oc group
memberof-member-ad member
memberof-memberof-ad memberOf
memberof-refint TRUE
overlay refint
refint_attributes member manager
"""
    )


def _slappasswd(secret: str) -> str:
    result = subprocess.run(
        ["slappasswd", "-s", secret], capture_output=True, text=True, check=True
    )
    return result.stdout.strip()


def start_slapd(workdir: Path | None = None) -> Slapd:
    """Generate a config, start slapd on free ports and create the base entries."""
    work = workdir or Path(tempfile.mkdtemp(prefix="slapd-"))
    server = Slapd(work, free_port(), free_port(), make_tls_files(work))
    write_config(server)
    server.start()
    _load_base(server)
    return server


def _load_base(server: Slapd) -> None:
    conn = server.admin()
    conn.add(BASE_DN, ["dcObject", "organization"], {"o": "Example", "dc": "example"})
    conn.add(f"ou=service,{BASE_DN}", ["organizationalUnit"], {"ou": "service"})
    conn.add(
        SERVICE_DN,
        ["person"],
        {"cn": "svc-pip", "sn": "pip", "userPassword": server.service_password},
    )
    conn.unbind()


def remove_slapd(server: Slapd) -> None:
    """Stop slapd and delete its files."""
    server.stop()
    shutil.rmtree(server.workdir, ignore_errors=True)


@pytest.fixture(scope="session")
def slapd() -> Iterator[Slapd]:
    """The session's slapd, started once (well under a second)."""
    if not os.path.exists(SLAPD):
        pytest.skip("slapd is not installed (scripts/services installs it)")
    server = start_slapd()
    yield server
    remove_slapd(server)


@pytest.fixture
def slapd_factory() -> Iterator[Callable[[], Slapd]]:
    """Start private slapd servers (for tests that stop them); all removed at teardown."""
    started: list[Slapd] = []

    def factory() -> Slapd:
        server = start_slapd()
        started.append(server)
        return server

    yield factory
    for server in started:
        remove_slapd(server)
