"""VaultResource in real Dagster runs against a real Vault and PostgreSQL,
logged in with the "analytics" AppRole and its policy from policies/acl."""

import threading
import time
from typing import Any

import hvac
import pytest
from dagster import (
    ConfigurableResource,
    asset,
    build_resources,
    job,
    materialize,
    op,
)

from dagster_vault import (
    DatabaseCredentials,
    Secret,
    SecretData,
    VaultError,
    VaultKeyNotFoundError,
    VaultPermissionDeniedError,
    VaultResource,
    VaultSecret,
    VaultSecretNotFoundError,
    VaultSecretsResource,
)
from servers import Analytics, wait_until


def cause(err: BaseException) -> BaseException:
    """The VaultError behind Dagster's wrapping, or err itself."""
    seen = err
    while seen is not None:
        if isinstance(seen, VaultError):
            return seen
        seen = seen.__cause__ or seen.__context__  # type: ignore[assignment]
    return err


def test_multi_secret_asset_reads_keys_paths_metadata_and_parallel(analytics: Analytics, canary: str) -> None:
    v1 = analytics.put("analytics/db", user="etl", password=canary + "-db")
    analytics.put("analytics/stripe", api_key=canary + "-stripe")
    for i in range(5):
        analytics.put(f"analytics/many/{i}", value=f"{canary}-{i}")
    analytics.server.root().secrets.kv.v2.update_metadata(
        path="analytics/db", mount_point="secret", custom_metadata={"owner": "data-team"}
    )
    seen: dict[str, Any] = {}

    @asset
    def report(vault: VaultResource) -> None:
        pw = vault.get_secret("analytics/db", "password")
        assert isinstance(pw, Secret)
        seen["pw"] = pw.reveal()
        whole = vault.get_secret("analytics/db")
        assert isinstance(whole, SecretData)
        seen["keys"] = sorted(whole)
        seen["version"] = whole.version
        seen["ref"] = vault.get_secret("vault:secret/data/analytics/stripe#api_key").reveal()
        many = vault.get_secrets([f"analytics/many/{i}" for i in range(5)] + ["secret/data/analytics/db#user"])
        seen["many"] = [many[f"analytics/many/{i}"]["value"].reveal() for i in range(5)]  # type: ignore[index]
        seen["user"] = many["secret/data/analytics/db#user"].reveal()  # type: ignore[union-attr]
        meta = vault.get_metadata("analytics/db")
        seen["meta"] = (meta.current_version, meta.custom_metadata)
        seen["old"] = vault.get_secret("analytics/db", "password", version=v1).reveal()

    result = materialize([report], resources={"vault": VaultResource(**analytics.resource_config())})
    assert result.success
    assert seen["pw"] == canary + "-db"
    assert seen["keys"] == ["password", "user"]
    assert seen["version"] == v1
    assert seen["ref"] == canary + "-stripe"
    assert seen["many"] == [f"{canary}-{i}" for i in range(5)]
    assert seen["user"] == "etl"
    assert seen["meta"] == (v1, {"owner": "data-team"})
    assert seen["old"] == canary + "-db"


def test_rotated_secret_is_picked_up_by_the_next_run(analytics: Analytics, canary: str) -> None:
    got: list[str] = []

    @op
    def read(vault: VaultResource) -> None:
        got.append(vault.get_secret("analytics/rotating", "token").reveal())

    @job(resource_defs={"vault": VaultResource(**analytics.resource_config())})
    def nightly() -> None:
        read()

    analytics.put("analytics/rotating", token=canary + "-v1")
    assert nightly.execute_in_process().success
    analytics.put("analytics/rotating", token=canary + "-v2")
    assert nightly.execute_in_process().success
    assert got == [canary + "-v1", canary + "-v2"]


def test_values_are_cached_for_the_run_until_refresh(analytics: Analytics, canary: str) -> None:
    analytics.put("analytics/cached", k=canary + "-a")
    with build_resources({"vault": VaultResource(**analytics.resource_config())}) as r:
        vault: VaultResource = r.vault
        first = vault.get_secret("analytics/cached", "k")
        analytics.put("analytics/cached", k=canary + "-b")
        assert vault.get_secret("analytics/cached", "k") == first
        assert vault.get_secret("analytics/cached", "k", refresh=True).reveal() == canary + "-b"


def test_with_rotation_retries_once_with_the_rotated_value(analytics: Analytics, canary: str) -> None:
    analytics.put("analytics/partner", key=canary + "-old")
    with build_resources({"vault": VaultResource(**analytics.resource_config())}) as r:
        vault: VaultResource = r.vault
        ref = "vault:secret/data/analytics/partner#key"
        vault.resolve(ref)  # the run read the old value earlier
        analytics.put("analytics/partner", key=canary + "-new")  # rotated meanwhile
        tried: list[str] = []

        def call_partner(key: Secret) -> str:
            # Stands in for an API that accepts only the current key.
            tried.append(key.reveal())
            if key.reveal() != canary + "-new":
                raise PermissionError("401 from partner")
            return "ok"

        assert vault.with_rotation(ref, call_partner, retry_on=(PermissionError,)) == "ok"
        assert tried == [canary + "-old", canary + "-new"]

        # An unchanged value means rotation is not the cause: the error stands.
        def always_fails(key: Secret) -> str:
            raise PermissionError("401 from partner")

        with pytest.raises(PermissionError):
            vault.with_rotation(ref, always_fails, retry_on=(PermissionError,))


class Warehouse(ConfigurableResource):
    """Another resource whose config takes a Vault reference."""

    vault: VaultResource
    password: str = VaultSecret("secret/data/analytics/warehouse#password")
    port: int = 5432

    def password_value(self) -> str:
        assert isinstance(self.password, Secret)  # like EnvVar: the field gives the value
        return self.password.reveal()  # type: ignore[attr-defined]


def test_vault_secret_field_gives_the_value_and_config_shows_the_reference(analytics: Analytics, canary: str) -> None:
    analytics.put("analytics/warehouse", password=canary + "-wh")
    analytics.put("analytics/warehouse-2", password=canary + "-wh2")
    got: list[str] = []

    @asset
    def loaded(warehouse: Warehouse) -> None:
        got.append(warehouse.password_value())
        assert canary not in repr(warehouse) and canary not in str(warehouse)

    vault = VaultResource(**analytics.resource_config())
    result = materialize([loaded], resources={"vault": vault, "warehouse": Warehouse(vault=vault)})
    assert result.success
    assert got == [canary + "-wh"]

    # Given at launch, the reference is what the run records; the op sees the value.
    ref = "vault:secret/data/analytics/warehouse-2#password"
    run_config = {"resources": {"warehouse": {"config": {"password": ref}}}}
    result = materialize(
        [loaded], resources={"vault": vault, "warehouse": Warehouse.configure_at_launch(vault=vault)}, run_config=run_config
    )
    assert result.success
    assert got[-1] == canary + "-wh2"
    assert result.dagster_run.run_config == run_config
    assert canary not in str(result.dagster_run.run_config)

    # A literal (or resolved EnvVar) still works, for local development.
    with build_resources({"vault": VaultResource(**analytics.resource_config())}) as r:
        assert r.vault.resolve("plain-dev-value").reveal() == "plain-dev-value"


def test_vault_secret_field_with_rotation(analytics: Analytics, canary: str) -> None:
    analytics.put("analytics/warehouse", password=canary + "-old")
    tried: list[str] = []

    @asset
    def rotating(warehouse: Warehouse) -> None:
        analytics.put("analytics/warehouse", password=canary + "-new")

        def call(pw: Secret) -> str:
            tried.append(pw.reveal())
            if pw.reveal() != canary + "-new":
                raise PermissionError("401")
            return "ok"

        assert warehouse.vault.with_rotation(warehouse.password, call, retry_on=(PermissionError,)) == "ok"

    vault = VaultResource(**analytics.resource_config())
    assert materialize([rotating], resources={"vault": vault, "warehouse": Warehouse(vault=vault)}).success
    assert tried == [canary + "-old", canary + "-new"]


def test_secrets_resource_declares_secrets_in_config(analytics: Analytics, canary: str) -> None:
    analytics.put("analytics/api", key=canary + "-api")
    analytics.put("analytics/db2", password=canary + "-db2")
    got: dict[str, str] = {}

    @asset
    def charges(secrets: VaultSecretsResource, vault: VaultResource) -> None:
        got.update({k: v.reveal() for k, v in secrets.as_dict().items()})
        # Dagster builds the nested and the top-level resource apart; they
        # still share one login.
        got["shared"] = str(secrets.vault.session is vault.session)

    vault = VaultResource(**analytics.resource_config())
    secrets = VaultSecretsResource(
        vault=vault,
        secrets={"api_key": "vault:secret/data/analytics/api#key", "db": "secret/data/analytics/db2#password"},
    )
    assert materialize([charges], resources={"vault": vault, "secrets": secrets}).success
    assert got == {"api_key": canary + "-api", "db": canary + "-db2", "shared": "True"}


@pytest.mark.parametrize(
    "ref, error, named",
    [
        ("vault:secret/data/analytics/absent#key", VaultSecretNotFoundError, "secret/data/analytics/absent"),
        ("vault:secret/data/analytics/present#absent_key", VaultKeyNotFoundError, "absent_key"),
        ("vault:secret/data/other-team/db#password", VaultPermissionDeniedError, "secret/data/other-team/db"),
    ],
)
def test_missing_or_denied_secret_fails_the_run_at_resource_setup(
    analytics: Analytics, canary: str, ref: str, error: type, named: str
) -> None:
    analytics.put("analytics/present", key=canary)
    analytics.server.root().secrets.kv.v2.create_or_update_secret(
        path="other-team/db", secret={"password": canary}, mount_point="secret"
    )
    ran: list[bool] = []

    @asset
    def needs(secrets: VaultSecretsResource) -> None:
        ran.append(True)

    vault = VaultResource(**analytics.resource_config())
    with pytest.raises(Exception) as e:
        materialize([needs], resources={"vault": vault, "secrets": VaultSecretsResource(vault=vault, secrets={"x": ref})})
    err = cause(e.value)
    assert isinstance(err, error), repr(e.value)
    assert named in str(err)
    assert canary not in str(err)
    assert err.hint  # type: ignore[attr-defined]
    assert ran == []


def test_every_bad_declared_reference_is_listed_at_once(analytics: Analytics, canary: str) -> None:
    analytics.put("analytics/present", key=canary)
    vault = VaultResource(**analytics.resource_config())
    secrets = VaultSecretsResource(
        vault=vault,
        secrets={
            "ok": "vault:secret/data/analytics/present#key",
            "gone": "vault:secret/data/analytics/absent-1#key",
            "also_gone": "vault:secret/data/analytics/absent-2#key",
            "malformed": "vault:secret/analytics/x#key",
        },
    )

    @asset
    def needs(secrets: VaultSecretsResource) -> None:
        pass

    with pytest.raises(Exception) as e:
        materialize([needs], resources={"vault": vault, "secrets": secrets})
    err = cause(e.value)
    assert isinstance(err, VaultError)
    msg = str(err)
    assert "3 declared secrets failed" in msg
    for name, what in (("gone", "absent-1"), ("also_gone", "absent-2"), ("malformed", "/data/")):
        assert f"{name}:" in msg and what in msg, msg
    assert canary not in msg


def test_token_is_revoked_and_renewed(analytics: Analytics, canary: str) -> None:
    """The shared role's tokens live 6 s: a 9 s op only survives by renewal."""
    analytics.put("analytics/late", k=canary)
    state: dict[str, Any] = {}

    @op
    def slow(vault: VaultResource) -> None:
        state["token"] = vault.client.token
        time.sleep(9)
        state["late"] = vault.get_secret("analytics/late", "k").reveal()
        state["renewals"] = vault.session.renewals

    @job(resource_defs={"vault": VaultResource(**analytics.resource_config())})
    def long_run() -> None:
        slow()

    assert long_run.execute_in_process().success
    assert state["late"] == canary
    assert state["renewals"] >= 1
    root = analytics.server.root()
    with pytest.raises(hvac.exceptions.Forbidden):
        root.auth.token.lookup(state["token"])


def test_dynamic_database_credentials_renewed_then_revoked(analytics: Analytics) -> None:
    """ttl 5 s / max_ttl 60 s: the user still logs in after 9 s only because
    the lease was renewed; after the run the role is gone from pg_roles."""
    pg = analytics.pg
    assert pg is not None
    state: dict[str, Any] = {}

    @asset
    def orders(vault: VaultResource) -> None:
        creds = vault.database_credentials("analytics-ro")
        assert isinstance(creds, DatabaseCredentials)
        assert "password" in repr(creds) and creds.password.reveal() not in repr(creds)
        state["user"] = creds.username
        with pg.connect(creds.username, creds.password.reveal()) as c:
            state["early"] = c.execute("select current_user").fetchone()[0]
        time.sleep(9)
        assert vault.database_credentials("analytics-ro") is creds  # one set per run
        with pg.connect(creds.username, creds.password.reveal()) as c:
            state["late"] = c.execute("select count(*) from pg_roles").fetchone()[0]
        state["renewals"] = vault.session.renewals

    assert materialize([orders], resources={"vault": VaultResource(**analytics.resource_config())}).success
    assert state["early"] == state["user"]
    assert state["late"] >= 1
    assert state["renewals"] >= 2
    wait_until(lambda: state["user"] not in pg.roles(), "the dynamic role to be dropped")


def test_parallel_reads_share_one_session_safely(analytics: Analytics, canary: str) -> None:
    for i in range(20):
        analytics.put(f"analytics/par/{i}", v=f"{canary}-{i}")
    with build_resources({"vault": VaultResource(**analytics.resource_config())}) as r:
        vault: VaultResource = r.vault
        errors: list[BaseException] = []

        def worker(n: int) -> None:
            try:
                for i in range(20):
                    assert vault.get_secret(f"analytics/par/{(i + n) % 20}", "v", refresh=True).reveal() == f"{canary}-{(i + n) % 20}"
            except BaseException as e:  # noqa: BLE001 - reported below
                errors.append(e)

        threads = [threading.Thread(target=worker, args=(n,)) for n in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert errors == []


def test_resource_outside_a_run_says_how_to_use_it(analytics: Analytics) -> None:
    vault = VaultResource(**analytics.resource_config())
    with pytest.raises(VaultError, match="build_resources"):
        vault.get_secret("analytics/db", "password")
