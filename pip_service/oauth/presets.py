"""Per-provider presets: where the endpoints are and which scopes each connector needs.

A preset names its parameters (``{domain}``, ``{tenant}``, ``{instance}``), an
OIDC discovery URL template when the provider publishes one, static endpoint
templates otherwise (or as a fallback), and the scopes per connector type.
``generic_oidc`` takes any discovery URL (the tests use it with a real
provider). Scope lists follow each vendor's documentation for read-only
directory, device and change data.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal

from pip_service.errors import ConfigError

Grant = Literal["authorization_code", "client_credentials"]
_PARAM = re.compile(r"\{(\w+)\}")
_SAFE_VALUE = re.compile(r"^[A-Za-z0-9._-]{1,253}$")


@dataclass(frozen=True)
class Preset:
    """How to reach one provider's authorization server."""

    name: str
    title: str
    discovery_url: str | None = None
    authorize_url: str | None = None
    token_url: str | None = None
    revocation_url: str | None = None
    scopes: dict[str, tuple[str, ...]] = field(default_factory=dict)
    default_scopes: tuple[str, ...] = ()
    grants: tuple[Grant, ...] = ("authorization_code", "client_credentials")
    authorize_params: dict[str, str] = field(default_factory=dict)
    client_auth: Literal["client_secret_basic", "client_secret_post"] = "client_secret_basic"

    @property
    def parameters(self) -> list[str]:
        """Names of the parameters its templates need."""
        found: list[str] = []
        for template in (self.discovery_url, self.authorize_url, self.token_url):
            found += [name for name in _PARAM.findall(template or "") if name not in found]
        return found

    def scopes_for(self, connector_type: str) -> list[str]:
        """The scopes a connector type needs from this provider."""
        return list(self.scopes.get(connector_type, self.default_scopes))

    def render(self, template: str | None, params: dict[str, str]) -> str | None:
        """A template with the connection's parameters filled in."""
        if template is None:
            return None
        return _PARAM.sub(lambda m: _param(self, params, m.group(1)), template)


def _param(preset: Preset, params: dict[str, str], name: str) -> str:
    value = params.get(name)
    if value is None:
        raise ConfigError(
            f"the {preset.title} preset needs the parameter {name!r}",
            code="invalid_config",
            field=f"params.{name}",
        )
    if name != "discovery_url" and not _SAFE_VALUE.match(value):
        raise ConfigError(f"parameter {name!r} is not a host name or id", field=f"params.{name}")
    return value


GRAPH = "https://graph.microsoft.com/"
GOOGLE_ADMIN = "https://www.googleapis.com/auth/admin.directory."
PRESETS: dict[str, Preset] = {
    preset.name: preset
    for preset in (
        Preset(
            name="okta",
            title="Okta",
            discovery_url="https://{domain}/.well-known/openid-configuration",
            default_scopes=("okta.users.read", "okta.groups.read", "offline_access"),
            scopes={
                "okta": ("okta.users.read", "okta.groups.read", "okta.logs.read", "offline_access")
            },
        ),
        Preset(
            name="entra_id",
            title="Microsoft Entra ID",
            discovery_url="https://login.microsoftonline.com/{tenant}/v2.0/.well-known/openid-configuration",
            default_scopes=(f"{GRAPH}User.Read.All", f"{GRAPH}Group.Read.All", "offline_access"),
            scopes={
                "entra_id": (
                    f"{GRAPH}User.Read.All",
                    f"{GRAPH}Group.Read.All",
                    f"{GRAPH}Device.Read.All",
                    "offline_access",
                ),
                "intune": (f"{GRAPH}DeviceManagementManagedDevices.Read.All", "offline_access"),
            },
        ),
        Preset(
            name="auth0",
            title="Auth0",
            discovery_url="https://{domain}/.well-known/openid-configuration",
            default_scopes=("read:users", "read:roles", "read:organizations"),
            grants=("client_credentials",),
            client_auth="client_secret_post",
        ),
        Preset(
            name="google",
            title="Google Workspace",
            discovery_url="https://accounts.google.com/.well-known/openid-configuration",
            default_scopes=(f"{GOOGLE_ADMIN}user.readonly", f"{GOOGLE_ADMIN}group.readonly"),
            scopes={
                "google_workspace": (
                    f"{GOOGLE_ADMIN}user.readonly",
                    f"{GOOGLE_ADMIN}group.readonly",
                    f"{GOOGLE_ADMIN}device.chromeos.readonly",
                    f"{GOOGLE_ADMIN}device.mobile.readonly",
                )
            },
            authorize_params={"access_type": "offline", "prompt": "consent"},
            client_auth="client_secret_post",
        ),
        Preset(
            name="servicenow",
            title="ServiceNow",
            authorize_url="https://{instance}.service-now.com/oauth_auth.do",
            token_url="https://{instance}.service-now.com/oauth_token.do",
            revocation_url="https://{instance}.service-now.com/oauth_revoke_token.do",
            default_scopes=("useraccount",),
            client_auth="client_secret_post",
        ),
        Preset(
            # developer.atlassian.com/cloud/jira/platform/oauth-2-3lo-apps: the authorize URL
            # takes audience=api.atlassian.com and prompt=consent; refresh tokens rotate and
            # need offline_access; API calls go to api.atlassian.com/ex/jira/{cloudid}.
            name="atlassian",
            title="Atlassian (Jira Cloud)",
            authorize_url="https://auth.atlassian.com/authorize",
            token_url="https://auth.atlassian.com/oauth/token",
            default_scopes=("read:jira-work", "offline_access"),
            scopes={
                "jira_service_management": (
                    "read:jira-work",
                    "write:jira-work",
                    "read:servicedesk-request",
                    "write:servicedesk-request",
                    "read:cmdb-object:jira",
                    "offline_access",
                )
            },
            grants=("authorization_code",),
            authorize_params={"audience": "api.atlassian.com", "prompt": "consent"},
            client_auth="client_secret_post",
        ),
        Preset(
            name="jamf",
            title="Jamf Pro",
            token_url="https://{instance}.jamfcloud.com/api/oauth/token",
            grants=("client_credentials",),
            client_auth="client_secret_post",
        ),
        Preset(
            name="generic_oidc",
            title="OpenID Connect provider",
            discovery_url="{discovery_url}",
            default_scopes=("openid", "offline_access"),
        ),
    )
}


def get_preset(name: str) -> Preset:
    """The preset called ``name``; ConfigError listing the known ones otherwise."""
    preset = PRESETS.get(name)
    if preset is None:
        known = ", ".join(sorted(PRESETS))
        raise ConfigError(f"unknown OAuth provider {name!r}; known: {known}", field="provider")
    return preset
