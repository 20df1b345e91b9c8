"""The ``state`` of a connect flow: a short-lived token signed with a key derived from the ring.

A state is ``v1.<key id>.<payload>.<mac>`` (base64url parts): the payload binds
the flow id (which names the ``oauth_flows`` row holding the sealed PKCE
verifier), the connection, the admin who started it, a nonce and an expiry; the
MAC is HMAC-SHA256 under an HKDF subkey of the named ring key, so a state
survives a key rotation while the flow runs. The admin cookie set at authorize
time is signed the same way and must name the same admin at the callback.
Single use is enforced by the flow row, not here.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, fields
from typing import Any

import orjson

from pip_service.errors import ConfigError
from pip_service.oauth.errors import OAuthFlowError
from pip_service.secrets.crypto import KeyRing

STATE_PURPOSE = "pip-oauth-state-v1"
COOKIE_PURPOSE = "pip-oauth-admin-v1"
VERSION = "v1"

Clock = Callable[[], float]


@dataclass(frozen=True)
class FlowState:
    """What a state carries."""

    flow_id: str
    connection_id: int
    actor: str
    actor_token_id: int | None
    nonce: str
    expires_at: float


@dataclass(frozen=True)
class AdminBinding:
    """What the admin cookie carries: who started flows in this browser."""

    actor: str
    actor_token_id: int | None
    expires_at: float


class StateSigner:
    """Signs and verifies states and admin cookies with subkeys of the key ring."""

    def __init__(self, keyring: KeyRing, *, clock: Clock = time.time) -> None:
        self.keyring = keyring
        self.clock = clock

    def sign_state(self, state: FlowState) -> str:
        """The state string sent to the provider."""
        return self._sign(STATE_PURPOSE, asdict(state))

    def verify_state(self, token: str | None) -> FlowState:
        """The state's content; OAuthFlowError when missing, altered or expired."""
        if not token:
            raise OAuthFlowError("state_missing")
        state = FlowState(**self._open(STATE_PURPOSE, token, FlowState))
        self._check_fresh(state.expires_at)
        return state

    def sign_admin(self, binding: AdminBinding) -> str:
        """The admin cookie value."""
        return self._sign(COOKIE_PURPOSE, asdict(binding))

    def verify_admin(self, token: str | None) -> AdminBinding | None:
        """The cookie's admin, or None when missing, altered or expired."""
        if not token:
            return None
        try:
            binding = AdminBinding(**self._open(COOKIE_PURPOSE, token, AdminBinding))
        except OAuthFlowError:
            return None
        return binding if binding.expires_at > self.clock() else None

    def _sign(self, purpose: str, content: dict[str, Any]) -> str:
        key_id = self.keyring.primary_key_id
        payload = _b64(orjson.dumps(content, option=orjson.OPT_SORT_KEYS))
        head = f"{VERSION}.{key_id}.{payload}"
        return f"{head}.{_b64(self._mac(purpose, key_id, head))}"

    def _open(self, purpose: str, token: str, shape: type[Any]) -> dict[str, Any]:
        parts = token.split(".")
        if len(parts) != 4 or parts[0] != VERSION:
            raise OAuthFlowError("state_invalid")
        head = ".".join(parts[:3])
        expected = self._mac_or_invalid(purpose, parts[1], head)
        if not hmac.compare_digest(expected, _unb64(parts[3])):
            raise OAuthFlowError("state_invalid")
        content = orjson.loads(_unb64(parts[2]))
        if not isinstance(content, dict) or {f.name for f in fields(shape)} != set(content):
            raise OAuthFlowError("state_invalid")
        return content

    def _mac_or_invalid(self, purpose: str, key_id: str, head: str) -> bytes:
        try:
            return self._mac(purpose, key_id, head)
        except ConfigError as err:  # a key id that is not (or no longer) in the ring
            raise OAuthFlowError("state_invalid") from err

    def _mac(self, purpose: str, key_id: str, head: str) -> bytes:
        key = self.keyring.derive_key(purpose, key_id=key_id)
        return hmac.new(key, head.encode(), hashlib.sha256).digest()

    def _check_fresh(self, expires_at: float) -> None:
        if expires_at <= self.clock():
            raise OAuthFlowError("state_expired")


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError) as err:
        raise OAuthFlowError("state_invalid") from err
