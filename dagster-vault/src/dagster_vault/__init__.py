"""dagster-vault: Dagster resources that read secrets and dynamic database
credentials from HashiCorp Vault at run time — renewed while the run lasts,
revoked when it ends, and never shown in logs."""

from .errors import (
    VaultAuthError,
    VaultConfigError,
    VaultError,
    VaultKeyNotFoundError,
    VaultLeaseError,
    VaultPermissionDeniedError,
    VaultReferenceError,
    VaultSealedError,
    VaultSecretNotFoundError,
    VaultUnreachableError,
)
from .reference import Reference, VaultSecret, parse as parse_reference
from .resources import (
    AppRoleAuth,
    JwtAuth,
    KubernetesAuth,
    VaultResource,
    VaultSecretsResource,
    install_redaction,
)
from .secret import RedactingFilter, Secret, SecretData
from .session import DatabaseCredentials, SecretMetadata, VaultSession

__all__ = [
    "AppRoleAuth",
    "DatabaseCredentials",
    "JwtAuth",
    "KubernetesAuth",
    "RedactingFilter",
    "Reference",
    "Secret",
    "SecretData",
    "SecretMetadata",
    "VaultAuthError",
    "VaultConfigError",
    "VaultError",
    "VaultKeyNotFoundError",
    "VaultLeaseError",
    "VaultPermissionDeniedError",
    "VaultReferenceError",
    "VaultResource",
    "VaultSealedError",
    "VaultSecret",
    "VaultSecretNotFoundError",
    "VaultSecretsResource",
    "VaultSession",
    "VaultUnreachableError",
    "install_redaction",
    "parse_reference",
]
