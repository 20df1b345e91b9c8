"""Certificate credentials for the Microsoft identity platform.

Follows "Microsoft identity platform application authentication certificate
credentials" (learn.microsoft.com/entra/identity-platform/certificate-credentials):
the client assertion is a JWT signed with the certificate's private key whose
header names the certificate by its thumbprint: ``x5t`` (base64url SHA-1 of the
DER encoding) and ``x5t#S256`` (base64url SHA-256); claims ``aud`` (the token
endpoint), ``iss`` = ``sub`` = the application (client) id, ``jti``, ``nbf``,
``iat`` and a short ``exp``.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, field

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from joserfc.jwk import RSAKey

from connectors.base.client_assertion import PrivateKeyJwt


@dataclass(frozen=True)
class Certificate:
    """A certificate with its private key, checked to belong together."""

    certificate: x509.Certificate
    key: RSAKey = field(repr=False)

    @property
    def x5t(self) -> str:
        """Base64url SHA-1 thumbprint of the certificate (``x5t``)."""
        return b64url(self.certificate.fingerprint(hashes.SHA1()))  # noqa: S303 - a thumbprint

    @property
    def x5t_s256(self) -> str:
        """Base64url SHA-256 thumbprint of the certificate (``x5t#S256``)."""
        return b64url(self.certificate.fingerprint(hashes.SHA256()))


def b64url(data: bytes) -> str:
    """Base64url without padding."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def load_certificate(certificate_pem: str, private_key_pem: str) -> Certificate:
    """Parse a PEM certificate and its RSA private key; ValueError when they do not match.

    Error messages never quote the key.
    """
    try:
        certificate = x509.load_pem_x509_certificate(certificate_pem.encode())
    except ValueError as err:
        raise ValueError("is not a PEM X.509 certificate") from err
    private = load_rsa_key(private_key_pem)
    public = certificate.public_key()
    if not isinstance(public, rsa.RSAPublicKey) or (
        public.public_numbers() != private.public_key().public_numbers()
    ):
        raise ValueError("does not belong to the certificate's public key")
    return Certificate(certificate, RSAKey.import_key(private))


def load_rsa_key(private_key_pem: str) -> rsa.RSAPrivateKey:
    """An unencrypted PEM RSA private key (PKCS#1 or PKCS#8); ValueError otherwise."""
    try:
        key = serialization.load_pem_private_key(private_key_pem.encode(), password=None)
    except (ValueError, TypeError) as err:
        raise ValueError("is not an unencrypted PEM private key") from err
    if not isinstance(key, rsa.RSAPrivateKey):
        raise ValueError("must be an RSA private key")
    return key


def certificate_assertion(client_id: str, certificate: Certificate) -> PrivateKeyJwt:
    """The client-assertion credential Entra ID expects for a certificate."""
    headers = {"x5t": certificate.x5t, "x5t#S256": certificate.x5t_s256}
    return PrivateKeyJwt(client_id, certificate.key, headers=headers, algorithm="RS256")
