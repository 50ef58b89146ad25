"""Login methods other than AppRole, against the session's real Vault."""

import base64
import json
import shutil
import subprocess
import time
from pathlib import Path

import pytest
from dagster import build_resources

from dagster_vault import AppRoleAuth, JwtAuth, VaultAuthError, VaultPermissionDeniedError, VaultResource, VaultUnreachableError
from servers import ROLE, Analytics

LEASE_REVOKE_POLICY = 'path "sys/leases/revoke/database/creds/analytics-*" { capabilities = ["update"] }'


def analytics_token(analytics: Analytics, *policies: str) -> str:
    resp = analytics.server.root().auth.token.create(policies=["dagster-analytics", *policies], ttl="10m")
    return str(resp["auth"]["client_token"])


def test_given_token_reads_and_is_not_revoked(analytics: Analytics, canary: str, tmp_path: Path) -> None:
    analytics.put("analytics/tok", k=canary)
    token = analytics_token(analytics)
    for cfg in ({"token": token}, {"token_file": str(tmp_path / "token")}):
        (tmp_path / "token").write_text(token + "\n")
        with build_resources(
            {"vault": VaultResource(url=analytics.server.addr, ca_cert=analytics.server.ca_cert, **cfg)}
        ) as r:
            assert r.vault.get_secret("analytics/tok", "k").reveal() == canary
        # Not this resource's token to end: whoever gave it still holds it.
        assert analytics.server.root().auth.token.lookup(token)["data"]["ttl"] > 0


@pytest.mark.parametrize(
    "policies",
    [
        ["dagster-analytics"],  # sys/leases/revoke, lease ID in the body
        ["analytics-creds-only", "lease-revoke-by-prefix"],  # scoped: ID in the URL
    ],
)
def test_leases_are_revoked_one_by_one_at_teardown(analytics: Analytics, policies: list[str]) -> None:
    """The database user is gone the moment the run ends, even with a token
    the resource does not revoke, under either way a policy may grant it."""
    pg = analytics.pg
    assert pg is not None
    root = analytics.server.root()
    root.sys.create_or_update_policy("analytics-creds-only", 'path "database/creds/analytics-*" { capabilities = ["read"] }')
    root.sys.create_or_update_policy("lease-revoke-by-prefix", LEASE_REVOKE_POLICY)
    token = str(root.auth.token.create(policies=policies, ttl="10m")["auth"]["client_token"])
    with build_resources(
        {"vault": VaultResource(url=analytics.server.addr, ca_cert=analytics.server.ca_cert, token=token)}
    ) as r:
        user = r.vault.database_credentials("analytics-ro").username
        assert user in pg.roles()
    assert user not in pg.roles()


def test_policy_does_not_reach_other_mounts(analytics: Analytics) -> None:
    with build_resources({"vault": VaultResource(**analytics.resource_config())}) as r:
        with pytest.raises(VaultPermissionDeniedError) as e:
            r.vault.database_credentials("readonly-other")
        assert "database/creds/readonly-other" in str(e.value)


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


@pytest.mark.skipif(shutil.which("openssl") is None, reason="openssl CLI needed to sign a test JWT")
def test_jwt_login(analytics: Analytics, canary: str, tmp_path: Path) -> None:
    key = tmp_path / "jwt.key"
    subprocess.run(["openssl", "genrsa", "-out", str(key), "2048"], check=True, capture_output=True)
    pub = subprocess.run(["openssl", "rsa", "-in", str(key), "-pubout"], check=True, capture_output=True, text=True).stdout
    root = analytics.server.root()
    if "jwt/" not in root.sys.list_auth_methods():
        root.sys.enable_auth_method("jwt")
    root.write("auth/jwt/config", jwt_validation_pubkeys=[pub], bound_issuer="vaultpipe-test")
    root.write(
        "auth/jwt/role/analytics",
        role_type="jwt",
        bound_audiences=["vault"],
        user_claim="sub",
        token_policies=["dagster-analytics"],
        token_ttl="60s",
    )
    now = int(time.time())
    header = b64(json.dumps({"alg": "RS256", "typ": "JWT"}).encode())
    claims = b64(json.dumps({"iss": "vaultpipe-test", "aud": "vault", "sub": "analytics", "iat": now, "exp": now + 300}).encode())
    signing_input = f"{header}.{claims}".encode()
    sig = subprocess.run(["openssl", "dgst", "-sha256", "-sign", str(key)], input=signing_input, check=True, capture_output=True).stdout
    jwt_file = tmp_path / "jwt"
    jwt_file.write_text(f"{header}.{claims}.{b64(sig)}\n")
    analytics.put("analytics/jwt", k=canary)
    with build_resources(
        {
            "vault": VaultResource(
                url=analytics.server.addr, ca_cert=analytics.server.ca_cert, jwt=JwtAuth(role="analytics", jwt_file=str(jwt_file))
            )
        }
    ) as r:
        assert r.vault.get_secret("analytics/jwt", "k").reveal() == canary
        token = r.vault.client.token
    with pytest.raises(Exception):
        root.auth.token.lookup(token)


def test_vault_cacert_alone_verifies_the_server(analytics: Analytics, canary: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """No ca_cert in config: Vault's own VAULT_CACERT is honoured (hvac reads
    it only at import time, so this used to fall back to the system CAs)."""
    analytics.put("analytics/cacert", k=canary)
    cfg = analytics.resource_config()
    del cfg["ca_cert"]
    monkeypatch.setenv("VAULT_CACERT", analytics.server.ca_cert)
    with build_resources({"vault": VaultResource(**cfg)}) as r:
        assert r.vault.get_secret("analytics/cacert", "k").reveal() == canary
    monkeypatch.delenv("VAULT_CACERT")
    with build_resources({"vault": VaultResource(**analytics.resource_config(ca_cert=None))}) as r:
        with pytest.raises(VaultUnreachableError, match="TLS handshake"):
            r.vault.get_secret("analytics/cacert", "k")


def test_ambient_vault_token_is_never_used_by_approle(
    analytics: Analytics, canary: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A root token in VAULT_TOKEN and ~/.vault-token must not ride along
    on, or replace, the AppRole login."""
    analytics.put("analytics/ambient", k=canary)
    root_token = analytics.server.root_token
    monkeypatch.setenv("VAULT_TOKEN", root_token)
    monkeypatch.setenv("HOME", str(tmp_path))
    (tmp_path / ".vault-token").write_text(root_token)
    with build_resources({"vault": VaultResource(**analytics.resource_config())}) as r:
        assert r.vault.get_secret("analytics/ambient", "k").reveal() == canary
        assert r.vault.client.token != root_token
        me = r.vault.client.auth.token.lookup_self()["data"]
        assert me["display_name"].startswith("approle") and "root" not in me["policies"]
    # And with no method configured, the ambient token is no fallback.
    with pytest.raises(Exception) as e:
        with build_resources({"vault": VaultResource(url=analytics.server.addr, ca_cert=analytics.server.ca_cert)}):
            pass
    assert "no auth method configured" in str(e.value) or "no auth method configured" in repr(e.value.__cause__)


def test_wrapped_secret_id_file_is_unwrapped_once(analytics: Analytics, canary: str, tmp_path: Path) -> None:
    """The file holds a response-wrapping token (vault-policy issue
    --wrap-ttl): the login unwraps it; the token is then spent, so a second
    login with the same file is refused as an auth error."""
    analytics.put("analytics/wrapped", k=canary)
    root = analytics.server.root()
    resp = root.adapter.post(f"/v1/auth/approle/role/{ROLE}/secret-id", headers={"X-Vault-Wrap-TTL": "120s"})
    wrapping_token = resp["wrap_info"]["token"]
    sid = tmp_path / "secret_id"
    sid.write_text(wrapping_token + "\n")
    sid.chmod(0o600)
    approle = AppRoleAuth(role_id_file=str(analytics.dir / "role_id"), secret_id_file=str(sid))
    cfg = analytics.resource_config(approle=approle)
    with build_resources({"vault": VaultResource(**cfg)}) as r:
        assert r.vault.get_secret("analytics/wrapped", "k").reveal() == canary
    with build_resources({"vault": VaultResource(**cfg)}) as r:
        with pytest.raises(VaultAuthError) as e:
            r.vault.get_secret("analytics/wrapped", "k")
    assert "already used" in str(e.value) and str(sid) in str(e.value)
    assert wrapping_token not in str(e.value)


def test_wrapping_token_of_something_else_is_refused_unused(analytics: Analytics, tmp_path: Path) -> None:
    root = analytics.server.root()
    wrapped = root.adapter.post("/v1/sys/wrapping/wrap", json={"secret_id": "not-from-approle"}, headers={"X-Vault-Wrap-TTL": "120s"})
    token = wrapped["wrap_info"]["token"]
    sid = tmp_path / "secret_id"
    sid.write_text(token + "\n")
    approle = AppRoleAuth(role_id_file=str(analytics.dir / "role_id"), secret_id_file=str(sid))
    with build_resources({"vault": VaultResource(**analytics.resource_config(approle=approle))}) as r:
        with pytest.raises(VaultAuthError, match="was not made by auth/approle/role/<role>/secret-id"):
            r.vault.client
    # Not unwrapped: whoever made it can still see it was never used.
    assert root.adapter.post("/v1/sys/wrapping/lookup", json={"token": token})["data"]["creation_path"] == "sys/wrapping/wrap"
