"""TLS for LDAPS and StartTLS, verified by the standard library.

ldap3's own ``Tls`` turns the context's host-name check off and calls the
deprecated ``ssl.match_hostname`` instead; ``VerifyingTls`` builds one
``SSLContext`` with ``check_hostname`` on (IP addresses in subjectAltName
included), so verification is the same as for HTTPS.
"""

from __future__ import annotations

import logging
import ssl
from pathlib import Path
from typing import Any

from ldap3 import Tls

from connectors.base.errors import ConfigError
from connectors.ldap.config import LdapConfig

logger = logging.getLogger(__name__)


class VerifyingTls(Tls):  # type: ignore[misc]
    """An ldap3 ``Tls`` that wraps sockets with a prepared ``SSLContext``."""

    def __init__(self, context: ssl.SSLContext) -> None:
        super().__init__(validate=context.verify_mode)
        self.context = context

    def wrap_socket(self, connection: Any, do_handshake: bool = False) -> None:
        """Wrap the connection's socket; the handshake verifies chain and host name."""
        server_hostname = connection.server.host if self.context.check_hostname else None
        connection.socket = self.context.wrap_socket(
            connection.socket,
            server_side=False,
            do_handshake_on_connect=do_handshake,
            server_hostname=server_hostname,
        )


def build_tls(config: LdapConfig) -> VerifyingTls | None:
    """The TLS settings for a connection, or None for plain ldap:// without StartTLS."""
    if not (config.uses_ldaps or config.start_tls):
        return None
    return VerifyingTls(_context(config))


def _context(config: LdapConfig) -> ssl.SSLContext:
    if not config.verify_tls:
        logger.warning("TLS certificate verification is off for %s", config.host)
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        return context
    context = ssl.create_default_context(cadata=config.ca_cert_pem or None)
    if config.ca_cert_file:
        _load_ca_file(context, config.ca_cert_file)
    return context


def _load_ca_file(context: ssl.SSLContext, path: str) -> None:
    if not Path(path).is_file():
        raise ConfigError(f"ca_cert_file {path} does not exist", code="ldap_ca_file_missing")
    try:
        context.load_verify_locations(cafile=path)
    except ssl.SSLError as err:
        raise ConfigError(
            f"ca_cert_file {path} holds no PEM certificate", code="ldap_ca_file_invalid"
        ) from err
