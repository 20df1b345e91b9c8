"""Map ldap3's exceptions onto the connector error tree.

LDAP result codes (RFC 4511 section 4.1.9) decide the class:

- 49 invalidCredentials, 48 inappropriateAuthentication, 50 insufficientAccessRights
  → ``SourceAuthError`` (the connection needs new credentials or rights)
- 8 strongerAuthRequired, 13 confidentialityRequired, 32 noSuchObject (a search
  base), 11 adminLimitExceeded (page size), bad filters → ``ConfigError``
- 51 busy, 52 unavailable, 3 timeLimitExceeded, socket errors, timeouts
  → ``TransientSourceError``
- a certificate the configured CA does not vouch for → ``FatalSourceError``
  with code ``ldap_tls_untrusted``
- anything else → ``FatalSourceError``

Messages are made from result codes and the server's diagnostic text, never
from the request, so the bind password cannot leak into them.
"""

from __future__ import annotations

from ldap3.core import exceptions as ldap_errors

from connectors.base.errors import (
    ConfigError,
    FatalSourceError,
    PipError,
    SourceAuthError,
    TransientSourceError,
)

AUTH_CODES = {48, 49, 50}
TRANSIENT_CODES = {3, 51, 52, 80}
TLS_MARKERS = ("certificate verify failed", "certificate_verify_failed", "doesn't match")


def translate(err: Exception, *, target: str) -> PipError:
    """The PipError for an ldap3 exception raised while doing ``target`` (no secrets)."""
    if isinstance(err, PipError):
        return err
    if _is_tls_failure(err):
        return FatalSourceError(
            f"The server certificate of {target} was not trusted: {_tls_reason(err)}. "
            "Set ca_cert_pem/ca_cert_file to the CA that signed it.",
            code="ldap_tls_untrusted",
        )
    if isinstance(err, ldap_errors.LDAPOperationResult):
        return _from_result(err, target=target)
    if isinstance(err, ldap_errors.LDAPInvalidFilterError):
        return ConfigError(f"Invalid LDAP filter for {target}", code="ldap_bad_filter")
    if isinstance(err, ldap_errors.LDAPStartTLSError):
        return ConfigError(f"StartTLS failed at {target}: {err}", code="ldap_start_tls_failed")
    if isinstance(err, ldap_errors.LDAPCommunicationError | ldap_errors.LDAPResponseTimeoutError):
        return TransientSourceError(f"LDAP server unreachable at {target}: {_short(err)}")
    if isinstance(err, OSError | TimeoutError):
        return TransientSourceError(f"LDAP server unreachable at {target}: {_short(err)}")
    return FatalSourceError(f"LDAP error at {target}: {type(err).__name__}", code="ldap_error")


def _from_result(err: ldap_errors.LDAPOperationResult, *, target: str) -> PipError:
    code = int(err.result)
    what = f"{err.description} (LDAP result {code})"
    detail = f": {err.message}" if err.message else ""
    if code in AUTH_CODES:
        return SourceAuthError(f"LDAP server {target} refused the credentials: {what}{detail}")
    if code in (8, 13):
        return ConfigError(
            f"{target} requires TLS: use ldaps:// or start_tls ({what})", code="ldap_tls_required"
        )
    if code == 32:
        return ConfigError(f"{target} does not exist: {what}", code="ldap_no_such_base")
    if code == 11:
        return ConfigError(
            f"{target}: the server refused the page size, lower page_size ({what}{detail})",
            code="ldap_page_size",
        )
    if code == 87:
        return ConfigError(f"Invalid LDAP filter for {target} ({what})", code="ldap_bad_filter")
    if code in TRANSIENT_CODES:
        return TransientSourceError(f"{target} is not available: {what}{detail}")
    return FatalSourceError(f"{target} failed: {what}{detail}", code="ldap_error")


def _is_tls_failure(err: Exception) -> bool:
    text = " ".join(str(arg) for arg in (err, *err.args)).lower()
    return any(marker in text for marker in TLS_MARKERS)


def _tls_reason(err: Exception) -> str:
    text = str(err)
    start = text.lower().find("certificate verify failed")
    if start < 0:
        return "host name mismatch or unknown issuer"
    return text[start:].split("(")[0].split("'")[0].strip(" :,")


def _short(err: Exception) -> str:
    return str(err).splitlines()[0][:300] if str(err) else type(err).__name__
