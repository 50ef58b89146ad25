"""The Dagster resources: ``VaultResource`` (an authenticated, renewing Vault
session for the run) and ``VaultSecretsResource`` (declare the secrets a
job needs in config; get them as a dict)."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable
from typing import Any, TypeVar, overload

import hvac
from dagster import Config, ConfigurableResource, InitResourceContext, get_dagster_logger
from pydantic import Field, PrivateAttr

from . import _dagster_internals, masking, reference
from .errors import VaultConfigError, VaultError, VaultReferenceError
from .secret import RedactingFilter, Secret, SecretData, install_error_redaction
from .session import DatabaseCredentials, Login, SecretMetadata, VaultSession

T = TypeVar("T")


class _Shared:
    def __init__(self, session: VaultSession) -> None:
        self.session = session
        self.users = 0


_shared: dict[tuple[str | None, str], _Shared] = {}
_shared_lock = threading.Lock()


class AppRoleAuth(Config):
    """AppRole login. The secret_id is read from a file (never config), as
    Vault Agent reads it; the role_id may be given inline or as a file."""

    secret_id_file: str = Field(description="File holding the secret_id (mode 0600).")
    role_id: str | None = Field(default=None, description="The role_id (not a secret on its own).")
    role_id_file: str | None = Field(default=None, description="File holding the role_id, instead of role_id.")
    remove_secret_id_file: bool = Field(
        default=False,
        description="Delete the secret_id file after reading it, as Vault Agent's "
        "remove_secret_id_file_after_reading does. Only for single-process executors: "
        "every step process logs in on its own.",
    )
    mount: str = Field(default="approle", description="Mount path of the AppRole auth method.")


class JwtAuth(Config):
    """JWT/OIDC login with a token read from a file."""

    role: str = Field(description="The JWT role to log in as.")
    jwt_file: str = Field(description="File holding the JWT.")
    mount: str = Field(default="jwt", description="Mount path of the JWT auth method.")


class KubernetesAuth(Config):
    """Kubernetes login with the pod's service-account token."""

    role: str = Field(description="The Kubernetes auth role.")
    jwt_file: str = Field(
        default="/var/run/secrets/kubernetes.io/serviceaccount/token",
        description="File holding the service-account JWT.",
    )
    mount: str = Field(default="kubernetes", description="Mount path of the Kubernetes auth method.")


class VaultResource(ConfigurableResource):
    """Secrets from HashiCorp Vault, fetched at run time.

    On first use the resource logs in (AppRole, JWT, Kubernetes, or a given
    token) and checks its token — once per process and run; a process that
    never reads never logs in. While the run lasts it renews its token and
    every lease; at teardown it revokes them. Every value it fetches comes
    back as a ``Secret``; secrets among them (see masking.py) are masked in
    Dagster's logs and event log.

    Example::

        vault = VaultResource(
            url=EnvVar("VAULT_ADDR"),
            ca_cert=EnvVar("VAULT_CACERT"),
            approle=AppRoleAuth(role_id_file="/etc/vaultpipe/analytics/role_id",
                                secret_id_file="/etc/vaultpipe/analytics/secret_id"),
        )

        @asset
        def orders(vault: VaultResource) -> None:
            creds = vault.database_credentials("analytics-rw")
            key = vault.get_secret("analytics/stripe", "api_key")
            ...
    """

    url: str = Field(description="Vault address, e.g. https://127.0.0.1:8200 (EnvVar('VAULT_ADDR')).")
    ca_cert: str | None = Field(default=None, description="PEM file of the CA that signed Vault's certificate.")
    namespace: str | None = Field(default=None, description="Vault Enterprise namespace.")
    token: str | None = Field(
        default=None, repr=False, description="A token; prefer token_file or approle, so no secret sits in the environment. Not revoked at teardown."
    )
    token_file: str | None = Field(default=None, description="File holding a token (e.g. Vault Agent's sink).")
    approle: AppRoleAuth | None = Field(default=None, description="Log in with AppRole.")
    jwt: JwtAuth | None = Field(default=None, description="Log in with a JWT.")
    kubernetes: KubernetesAuth | None = Field(default=None, description="Log in with a Kubernetes service account.")
    kv_mount: str = Field(default="secret", description="Mount path of the KV v2 engine for plain paths.")
    timeout: float = Field(default=10.0, description="Seconds per request to Vault.")
    max_retries: int = Field(default=2, description="Extra tries for a request that failed in transit or with a 5xx.")
    retry_backoff: float = Field(default=0.25, description="Seconds before the first retry; doubles each time.")
    renew: bool = Field(default=True, description="Renew the token and leases in the background while the run lasts.")
    revoke_token: bool = Field(
        default=True, description="At teardown, revoke the token this resource logged in for (and so its leases)."
    )
    mask: str = Field(
        default="secrets",
        description='What to mask in logs: "secrets" (secret-looking keys, credentials, declared secrets, '
        'high-entropy values; never common words, booleans or short numbers) or "all" (every value of 4+ characters).',
    )
    mask_keys: dict[str, bool] = Field(
        default_factory=dict,
        description='Per-key overrides: a field name ("pin") or "<mount>/data/<path>#<key>" → true (always mask) or false (never).',
    )

    _session: VaultSession | None = PrivateAttr(default=None)
    _share_key: tuple[str | None, str] = PrivateAttr(default=(None, ""))

    # ---- lifecycle -------------------------------------------------------

    def setup_for_execution(self, context: InitResourceContext) -> None:
        # A resource with a VaultSecret field sets up its nested
        # VaultResource (this) first: from here on, its fields resolve.
        _dagster_internals.resolve_fields_at_run(_resolve_vault_secret_fields)
        if _dagster_internals.run_is_finished(context):
            # Dagster rebuilding resources after the run (dagster job
            # execute): nothing will read, so nothing to log in for.
            return
        install_redaction(context.log)
        # Dagster initialises a nested resource (VaultSecretsResource(vault=…))
        # apart from the top-level one with the same config: share one
        # session per run and config. The session logs in on first use, so
        # a process that never reads never logs in, and one that does logs
        # in once.
        key = (context.run_id, self.model_dump_json())
        with _shared_lock:
            shared = _shared.get(key)
            if shared is None:
                shared = _shared[key] = _Shared(self._build(get_dagster_logger("dagster_vault")))
            shared.users += 1
        self._session = shared.session
        self._share_key = key

    def teardown_after_execution(self, context: InitResourceContext) -> None:
        if self._session is None:
            return
        with _shared_lock:
            shared = _shared.get(self._share_key)
            last = shared is None or shared.users <= 1
            if shared is not None:
                shared.users -= 1
                if last:
                    del _shared[self._share_key]
        if last:
            self._session.close()
        self._session = None

    def _build(self, logger: logging.Logger) -> VaultSession:
        login = Login(
            token=self.token or None,
            token_file=self.token_file,
        )
        if self.approle is not None:
            login.approle_secret_id_file = self.approle.secret_id_file
            login.approle_role_id = self.approle.role_id
            login.approle_role_id_file = self.approle.role_id_file
            login.approle_remove_secret_id_file = self.approle.remove_secret_id_file
            login.approle_mount = self.approle.mount
            if not (self.approle.role_id or self.approle.role_id_file):
                raise VaultConfigError("approle needs role_id or role_id_file")
        if self.jwt is not None:
            login.jwt_role, login.jwt_file, login.jwt_mount = self.jwt.role, self.jwt.jwt_file, self.jwt.mount
        if self.kubernetes is not None:
            login.kubernetes_role = self.kubernetes.role
            login.kubernetes_jwt_file = self.kubernetes.jwt_file
            login.kubernetes_mount = self.kubernetes.mount
        session = VaultSession(
            url=self.url,
            login=login,
            ca_cert=self.ca_cert or None,
            namespace=self.namespace,
            kv_mount=self.kv_mount,
            timeout=self.timeout,
            max_retries=self.max_retries,
            retry_backoff=self.retry_backoff,
            renew=self.renew,
            revoke_token=self.revoke_token,
            logger=logger,
            mask=masking.Policy(self.mask, self.mask_keys),
        )
        return session

    @property
    def session(self) -> VaultSession:
        """The run's session (raises outside a run)."""
        if self._session is None:
            raise VaultConfigError(
                "VaultResource is not set up: use it as a resource of a run, "
                "or in `with build_resources({'vault': VaultResource(...)}) as r:`"
            )
        return self._session

    @property
    def client(self) -> hvac.Client:
        """The authenticated hvac client, for calls this resource does not wrap."""
        return self.session.open().client

    # ---- reading ---------------------------------------------------------

    @overload
    def get_secret(self, path: str, key: str, version: int | None = None, *, mount: str | None = None, refresh: bool = False) -> Secret: ...

    @overload
    def get_secret(self, path: str, key: None = None, version: int | None = None, *, mount: str | None = None, refresh: bool = False) -> SecretData: ...

    def get_secret(
        self,
        path: str,
        key: str | None = None,
        version: int | None = None,
        *,
        mount: str | None = None,
        refresh: bool = False,
    ) -> Secret | SecretData:
        """Read a KV v2 secret: with key, that key's value as a Secret;
        without, every key (SecretData, which also carries version,
        created_time and custom_metadata). path is below ``kv_mount``
        (``analytics/db``) or a reference (``vault:secret/data/analytics/db#password``).
        Cached for the run; ``refresh=True`` reads again."""
        if reference.is_reference(path) or "#" in path:
            ref = reference.parse_loose(path)
            if key is not None and key != ref.key:
                raise VaultConfigError(f"get_secret({path!r}, key={key!r}): the reference already names key {ref.key!r}")
            return self.session.read(ref.path, mount=ref.mount, version=version, refresh=refresh)[ref.key]
        data = self.session.read(path, mount=mount, version=version, refresh=refresh)
        return data if key is None else data[key]

    def get_secrets(self, paths: Iterable[str], *, refresh: bool = False) -> dict[str, Secret | SecretData]:
        """Fetch many secrets in parallel; keys of the result are the given
        strings. A path gives SecretData, a reference with ``#key`` a Secret."""
        return self.session.read_many(paths, refresh=refresh)

    def get_metadata(self, path: str, *, mount: str | None = None) -> SecretMetadata:
        """KV v2 metadata of path: current and oldest version, times, custom_metadata."""
        return self.session.metadata(path, mount=mount)

    def resolve(self, value: str, *, refresh: bool = False) -> Secret:
        """The value behind a ``VaultSecret``/``vault:`` reference; any other
        string (a literal, a resolved EnvVar) comes back wrapped as it is."""
        return self.session.resolve(value, refresh=refresh)

    def with_rotation(
        self,
        ref: str | Secret,
        use: Callable[[Secret], T],
        *,
        retry_on: tuple[type[BaseException], ...] = (Exception,),
    ) -> T:
        """Call ``use(secret)``; when it raises one of retry_on and Vault now
        holds a newer value (rotated mid-run), call it once more with that."""
        return self.session.with_rotation(ref, use, retry_on=retry_on)

    def database_credentials(self, role: str, *, mount: str = "database", refresh: bool = False) -> DatabaseCredentials:
        """Dynamic credentials from ``<mount>/creds/<role>``: renewed during
        the run, revoked at teardown. One set per role per run unless refresh."""
        return self.session.database_credentials(role, mount=mount, refresh=refresh)


class VaultSecretsResource(ConfigurableResource):
    """The secrets a job needs, declared in config and fetched (in parallel)
    at resource setup, so a missing one fails the run before any op starts::

        secrets = VaultSecretsResource(
            vault=vault,
            secrets={"stripe_key": "vault:secret/data/analytics/stripe#api_key"},
        )

        @asset
        def charges(secrets: VaultSecretsResource) -> None:
            key = secrets.get("stripe_key").reveal()
    """

    vault: VaultResource
    secrets: dict[str, str] = Field(description="Name → reference (vault:<mount>/data/<path>#<key>).")

    _values: dict[str, Secret] = PrivateAttr(default_factory=dict)

    def setup_for_execution(self, context: InitResourceContext) -> None:
        if _dagster_internals.run_is_finished(context):
            return
        install_redaction(context.log)
        refs: dict[str, str] = {}
        errors: list[tuple[str, VaultError]] = []
        for name, ref in self.secrets.items():
            try:
                refs[name] = str(reference.parse_loose(ref))
            except VaultReferenceError as e:
                errors.append((name, e))
        session = self.vault.session
        values: dict[str, Secret] = {}
        if refs:
            try:
                session.open()
            except VaultError:
                raise  # no point reading each: the one login error says it all
            fetched = session.read_each(refs.values())
            for name, ref in refs.items():
                v = fetched[ref]
                if isinstance(v, VaultError):
                    errors.append((name, v))
                    continue
                assert isinstance(v, Secret)
                parsed = reference.parse(ref)
                session.declare(parsed.api_path, parsed.key, v.reveal())
                values[name] = v
        if errors:
            raise _all_errors(errors)
        self._values = values

    def get(self, name: str) -> Secret:
        try:
            return self._values[name]
        except KeyError:
            raise VaultConfigError(
                f"no secret named {name!r} is declared (declared: {', '.join(sorted(self.secrets)) or 'none'})"
            ) from None

    def as_dict(self) -> dict[str, Secret]:
        """Every declared secret by name."""
        return dict(self._values)


def _all_errors(errors: list[tuple[str, VaultError]]) -> VaultError:
    """One error naming every declared secret that failed, of the class
    they share (else VaultError)."""
    if len(errors) == 1:
        return errors[0][1]
    classes = {type(e) for _, e in errors}
    cls: type[VaultError] = classes.pop() if len(classes) == 1 else VaultError
    hints = list(dict.fromkeys(e.hint for _, e in errors if e.hint))
    return cls(
        f"{len(errors)} declared secrets failed: " + "; ".join(f"{name}: {e.message}" for name, e in errors),
        hint="; ".join(hints) or None,
    )


def _resolve_vault_secret_fields(resource: Any, context: Any) -> None:
    """Give each field whose default is a VaultSecret its value (a Secret)
    for the run, read through the resource's VaultResource field."""
    fields = _vault_secret_fields(type(resource))
    if not fields or _dagster_internals.run_is_finished(context):
        return
    vaults = [v for v in (getattr(resource, n, None) for n in type(resource).model_fields) if isinstance(v, VaultResource)]
    if not vaults:
        raise VaultConfigError(
            f"{type(resource).__name__}.{fields[0]} is a VaultSecret, but {type(resource).__name__} has no VaultResource field",
            hint=f"add `vault: VaultResource` to {type(resource).__name__}",
        )
    session = vaults[0].session
    errors: list[tuple[str, VaultError]] = []
    for name in fields:
        value = getattr(resource, name)
        if isinstance(value, Secret) or not isinstance(value, str):
            continue
        try:
            _dagster_internals.set_field(resource, name, session.resolve(value))
        except VaultError as e:
            errors.append((f"{type(resource).__name__}.{name}", e))
            if session.failed:
                break  # the login failed: every field would repeat it
    if errors:
        raise _all_errors(errors)


_fields_cache: dict[type, list[str]] = {}


def _vault_secret_fields(cls: type) -> list[str]:
    found = _fields_cache.get(cls)
    if found is None:
        model_fields = getattr(cls, "model_fields", {})
        found = [n for n, f in model_fields.items() if isinstance(getattr(f, "default", None), reference.VaultSecret)]
        _fields_cache[cls] = found
    return found


def install_redaction(log: Any) -> None:
    """Attach the redacting filter to a Dagster log manager, its handlers
    (the event log's among them) and its loggers (the console's) — step log
    managers share these handlers — and mask values in every error Dagster
    serializes in this process."""
    install_error_redaction()
    if log is None:
        return
    targets: list[Any] = [log, *_dagster_internals.log_targets(log)]
    # Handlers that Python loggers propagate to (the dagster CLI puts a
    # stderr handler on "dagster"): a filter on a handler sees every record
    # it writes, a filter on a logger only those logged on it directly.
    for lg in [logging.getLogger(), logging.getLogger("dagster")]:
        targets += [h for h in lg.handlers if type(h).__name__ != "DagsterLogHandler"]
    if logging.lastResort is not None:  # what prints a record no handler took
        targets.append(logging.lastResort)
    for t in targets:
        if not any(isinstance(f, RedactingFilter) for f in getattr(t, "filters", ())):
            t.addFilter(RedactingFilter())

