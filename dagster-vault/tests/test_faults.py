"""Vault breaking before or during a run: each failure has its own exception
class, names the path, never a value, and carries a hint. Tests that stop
or seal Vault run their own server (own_vault)."""

import os
from typing import Any

import pytest
from dagster import job, op

from dagster_vault import (
    AppRoleAuth,
    VaultSecretsResource,
    VaultAuthError,
    VaultConfigError,
    VaultError,
    VaultPermissionDeniedError,
    VaultResource,
    VaultSealedError,
    VaultUnreachableError,
)
from servers import Analytics
from test_resource import cause

pytestmark = pytest.mark.fault


def run_job(analytics: Analytics, body: Any, cfg: dict[str, Any] | None = None, **over: Any) -> tuple[Any, list[Any]]:
    """Run a one-op job whose op calls body(vault); return the result and
    the events of the run."""
    reached: list[Any] = []

    @op
    def step(vault: VaultResource) -> None:
        reached.append(True)
        body(vault)

    @job(resource_defs={"vault": VaultResource(**(cfg or analytics.resource_config(**over)))})
    def faulty() -> None:
        step()

    return faulty.execute_in_process(raise_on_error=False), reached


def step_error(result: Any) -> str:
    """Every error the run's events carry (step, resource-init or run
    failure), with causes, as text."""
    text = []
    for event in result.all_events:
        err = getattr(event.event_specific_data, "error", None)
        while err is not None:
            text.append(f"{err.cls_name}: {err.message}")
            err = err.cause
    assert text, "the run recorded no error"
    return "\n".join(text)


def use(vault: VaultResource) -> None:
    """The first use of the resource: where the session logs in."""
    vault.get_secret("analytics/any", "k")


def test_vault_stopped_before_the_run_names_the_address(own_vault: Analytics) -> None:
    cfg = own_vault.resource_config()
    own_vault.server.command("stop")
    # An op that never reads needs no Vault: the login is lazy.
    result, reached = run_job(own_vault, lambda v: None, cfg)
    assert result.success and reached == [True]
    result, reached = run_job(own_vault, use, cfg)
    assert not result.success
    msg = step_error(result)
    assert "VaultUnreachableError" in msg
    assert "auth/approle/login" in msg and "hint:" in msg
    assert f"Vault at {own_vault.server.addr} is unreachable" in msg


def test_declared_secrets_fail_at_setup_when_vault_is_down(own_vault: Analytics) -> None:
    cfg = own_vault.resource_config()
    own_vault.server.command("stop")
    reached: list[bool] = []

    @op
    def step(secrets: VaultSecretsResource) -> None:
        reached.append(True)

    vault = VaultResource(**cfg)
    secrets = VaultSecretsResource(vault=vault, secrets={"a": "vault:secret/data/analytics/a#k", "b": "vault:secret/data/analytics/b#k"})

    @job(resource_defs={"vault": vault, "secrets": secrets})
    def declared() -> None:
        step()

    result = declared.execute_in_process(raise_on_error=False)
    assert not result.success and reached == []
    msg = step_error(result)
    assert own_vault.server.addr in msg
    # One login attempt, one error: not one per declared secret.
    assert "declared secrets failed" not in msg


def test_sealed_vault_fails_at_first_use(own_vault: Analytics) -> None:
    cfg = own_vault.resource_config()
    own_vault.server.command("seal")
    result, reached = run_job(own_vault, use, cfg)
    assert not result.success and reached == [True]
    msg = step_error(result)
    assert "VaultSealedError" in msg and "unseal" in msg


def test_sealed_mid_run_names_the_path(own_vault: Analytics, canary: str) -> None:
    own_vault.put("analytics/a", k=canary + "-a")
    own_vault.put("analytics/b", k=canary + "-b")
    raised: list[BaseException] = []

    def body(vault: VaultResource) -> None:
        assert vault.get_secret("analytics/a", "k").reveal() == canary + "-a"
        own_vault.server.command("seal")
        try:
            vault.get_secret("analytics/b", "k")
        except VaultError as e:
            raised.append(e)
            raise

    result, reached = run_job(own_vault, body)
    assert not result.success and reached == [True]
    assert len(raised) == 1 and isinstance(raised[0], VaultSealedError)
    assert "secret/data/analytics/b" in str(raised[0])
    assert canary not in step_error(result)


def test_stopped_mid_run_keeps_cached_values_and_names_the_path(own_vault: Analytics, canary: str) -> None:
    own_vault.put("analytics/d", k=canary + "-d")
    own_vault.put("analytics/e", k=canary + "-e")
    raised: list[BaseException] = []

    def body(vault: VaultResource) -> None:
        first = vault.get_secret("analytics/d", "k")
        own_vault.server.command("stop")
        # What the run already read stays usable.
        assert vault.get_secret("analytics/d", "k") == first
        try:
            vault.get_secret("analytics/e", "k")
        except VaultError as e:
            raised.append(e)
            raise

    result, _ = run_job(own_vault, body)
    assert not result.success
    assert len(raised) == 1 and isinstance(raised[0], VaultUnreachableError)
    assert "secret/data/analytics/e" in str(raised[0])
    assert canary not in step_error(result)


def test_token_revoked_mid_run_is_permission_denied(analytics: Analytics, canary: str) -> None:
    analytics.put("analytics/c", k=canary)
    raised: list[BaseException] = []

    def body(vault: VaultResource) -> None:
        accessor = vault.client.auth.token.lookup_self()["data"]["accessor"]
        analytics.server.root().auth.token.revoke_accessor(accessor)
        try:
            vault.get_secret("analytics/c", "k")
        except VaultError as e:
            raised.append(e)
            raise

    result, _ = run_job(analytics, body)
    assert not result.success
    assert len(raised) == 1 and isinstance(raised[0], VaultPermissionDeniedError)
    assert "secret/data/analytics/c" in str(raised[0])


def test_wrong_secret_id_is_an_auth_error_at_setup(analytics: Analytics, tmp_path: Any) -> None:
    bad = tmp_path / "secret_id"
    bad.write_text("00000000-0000-0000-0000-000000000000\n")
    approle = AppRoleAuth(role_id_file=str(analytics.dir / "role_id"), secret_id_file=str(bad))
    result, reached = run_job(analytics, use, approle=approle)
    assert not result.success
    msg = step_error(result)
    assert "VaultAuthError" in msg and "role_id and secret_id" in msg


def test_refused_token_is_an_auth_error_with_a_token_hint(analytics: Analytics) -> None:
    cfg = dict(url=analytics.server.addr, ca_cert=analytics.server.ca_cert, token="hvs.not-a-real-token-0000")
    result, _ = run_job(analytics, use, cfg)
    assert not result.success
    msg = step_error(result)
    assert "VaultAuthError" in msg and "refused the token" in msg
    assert "token_file" in msg and "AppRole" not in msg and "secret_id" not in msg


def test_secret_id_file_removed_after_read(analytics: Analytics) -> None:
    sid = analytics.secret_id_file()
    approle = AppRoleAuth(role_id_file=str(analytics.dir / "role_id"), secret_id_file=sid, remove_secret_id_file=True)
    result, reached = run_job(analytics, use_ok, approle=approle)
    assert result.success and reached == [True]
    assert not os.path.exists(sid)
    # A second login with the same file must now fail clearly.
    result, reached = run_job(analytics, use, approle=approle)
    assert not result.success
    assert "VaultConfigError" in step_error(result) and sid in step_error(result)


def use_ok(vault: VaultResource) -> None:
    assert vault.client.token


def test_configuration_errors_are_clear() -> None:
    from dagster import build_resources

    with pytest.raises(Exception) as e:
        with build_resources({"vault": VaultResource(url="https://127.0.0.1:1")}):
            pass
    assert isinstance(cause(e.value), VaultConfigError)
    assert "no auth method" in str(cause(e.value))
    with pytest.raises(Exception) as e:
        with build_resources({"vault": VaultResource(url="https://127.0.0.1:1", token="t-123456", token_file="/x")}):
            pass
    assert isinstance(cause(e.value), VaultConfigError)
    assert "token or token_file" in str(cause(e.value))


def test_unreachable_is_classified_without_dagster(tmp_path: Any) -> None:
    from servers import free_port

    from dagster_vault.session import Login, VaultSession

    session = VaultSession(url=f"https://127.0.0.1:{free_port()}", login=Login(token="t-123456"), retry_backoff=0.01)
    with pytest.raises(VaultUnreachableError) as e:
        session.open()
    assert "auth/token/lookup-self" in str(e.value)
    assert "t-123456" not in str(e.value)


def test_wrong_ca_is_a_tls_error_with_a_hint(analytics: Analytics) -> None:
    import certifi

    # A CA bundle that did not sign the test server's certificate.
    result, _ = run_job(analytics, use, ca_cert=certifi.where())
    assert not result.success
    msg = step_error(result)
    assert "VaultUnreachableError" in msg and f"TLS handshake with Vault at {analytics.server.addr} failed" in msg
    assert "ca_cert" in msg


def test_deleted_version_is_not_found(analytics: Analytics, canary: str) -> None:
    from dagster import build_resources

    from dagster_vault import VaultSecretNotFoundError

    v1 = analytics.put("analytics/deleted", k=canary)
    analytics.put("analytics/deleted", k=canary + "-2")
    analytics.server.root().secrets.kv.v2.delete_secret_versions(path="analytics/deleted", versions=[v1], mount_point="secret")
    with build_resources({"vault": VaultResource(**analytics.resource_config())}) as r:
        assert r.vault.get_secret("analytics/deleted", "k").reveal() == canary + "-2"
        with pytest.raises(VaultSecretNotFoundError) as e:
            r.vault.get_secret("analytics/deleted", "k", version=v1)
        assert "deleted or destroyed" in str(e.value) and canary not in str(e.value)
