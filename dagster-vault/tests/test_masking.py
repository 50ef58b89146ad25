"""What is masked (masking.py, the README's rule): secrets, not words."""

import json
import logging
import uuid
from typing import Any

import pytest
from dagster import AssetExecutionContext, DagsterInstance, asset, materialize

from dagster_vault import VaultResource
from dagster_vault.masking import Policy, credential, looks_secret, secret_looking_name
from dagster_vault.secret import MASK
from servers import Analytics

# A token-shaped canary made at import, so no token-like literal sits in the tree.
GENERATED_TOKEN = "hvs." + uuid.uuid4().hex


def masked(key: str, value: str, policy: Policy | None = None, **kw: Any) -> list[str]:
    return list((policy or Policy()).values_to_mask("secret/data/app/db", key, value, **kw))


@pytest.mark.parametrize(
    "key, value",
    [
        ("host", "localhost"),
        ("port", "5432"),
        ("user", "admin"),
        ("enabled", "true"),
        ("database", "postgres"),
        ("region", "eu-west-1"),
        ("password_file", "/etc/app/password"),  # about a secret, not one
        ("timeout", "30s"),
        ("password", "true"),  # a boolean even under a secret-looking key
        ("token", "root"),  # a dev token: a common word
        ("api_key", "123"),  # too short
        ("password", "changeme"),  # a placeholder
        ("url", "https://example.com/path"),  # no credentials in it
        ("ref", "vault:secret/data/app/db#password"),
    ],
)
def test_plain_values_are_not_masked(key: str, value: str) -> None:
    assert masked(key, value) == []


@pytest.mark.parametrize(
    "key, value",
    [
        ("password", "hunter2-horse"),
        ("DB_PASSWORD", "s3cr3t!!"),
        ("api_key", "sk_live_abcdef"),
        ("stripeKey", "sk_live_abcdef"),
        ("token", GENERATED_TOKEN),
        ("client_secret", "abcd-efgh"),
        ("passphrase", "correct horse battery staple"),
        ("notes", "aB3dE5gH7jK9mN1pQ3sT"),  # high entropy whatever the key
        ("private", "-----BEGIN RSA PRIVATE KEY-----\nMIIE\n-----END RSA PRIVATE KEY-----"),
    ],
)
def test_secret_looking_values_are_masked(key: str, value: str) -> None:
    assert masked(key, value) == [value]


def test_dsn_with_password_masks_it_and_its_password() -> None:
    dsn = "postgresql://etl:pw-9f8e7d6c@db.internal:5432/analytics"
    assert masked("url", dsn) == [dsn, "pw-9f8e7d6c"]
    assert masked("url", "postgresql://etl@db.internal/analytics") == []


def test_strings_inside_json_are_judged_by_their_keys_and_parents() -> None:
    value = json.dumps({"host": "localhost", "password": "inner-pw-1", "nested": {"api_key": "k-12345678"}, "n": 5})
    assert sorted(masked("config", value)) == ["inner-pw-1", "k-12345678"]
    # Under a secret-looking key, every string inside is secret, words aside.
    creds = json.dumps({"inner": "opaque-value", "kind": "admin", "list": ["item-value-1"]})
    got = masked("credentials", creds)
    assert "opaque-value" in got and "item-value-1" in got and "admin" not in got
    assert creds in got


def test_mask_all_and_per_key_overrides() -> None:
    assert masked("host", "localhost", Policy("all")) == ["localhost"]
    assert masked("host", "abc", Policy("all")) == []  # nothing under 4 characters, ever
    assert masked("user", "admin", Policy(overrides={"user": True})) == ["admin"]
    assert masked("user", "admin", Policy(overrides={"secret/data/app/db#user": True})) == ["admin"]
    assert masked("password", "hunter2-horse", Policy(overrides={"password": False})) == []
    assert masked("user", "admin", declared=True) == []  # a declared word is still a word
    assert masked("user", "etl-loader", declared=True) == ["etl-loader"]


def test_name_classification_mirrors_env_scan() -> None:
    # The cases of lib/scan's ClassifyName.
    for name in ("DB_PASSWORD", "dbPassword", "GITHUB_TOKEN", "STRIPE_KEY", "API_KEY", "AWS_SECRET_ACCESS_KEY", "DSN", "creds"):
        assert secret_looking_name(name), name
    for name in ("PUBLIC_KEY", "KEY", "TOKEN_TTL", "PASSWORD_FILE", "DB_USER", "SECRET_NAME", "HOST"):
        assert not secret_looking_name(name), name
    assert not looks_secret("host", "localhost")
    assert credential(GENERATED_TOKEN) and not credential("root")


def test_ordinary_words_stay_readable_while_the_password_is_masked(analytics: Analytics, canary: str) -> None:
    """The defect of issue 13: a secret with host/port/user/enabled turned a
    log line into `connecting to *****:*****/***** as *****`."""
    analytics.put(
        "analytics/pg-words", host="localhost", port="5432", user="admin", enabled="true", dbname="postgres",
        password=canary + "-pw",
    )
    @asset
    def connects(context: AssetExecutionContext, vault: VaultResource) -> None:
        s = vault.get_secret("analytics/pg-words").reveal()
        context.log.info(f"connecting to {s['host']}:{s['port']}/{s['dbname']} as {s['user']} (enabled={s['enabled']})")
        context.log.info(f"with password {s['password']}")
        logging.getLogger("dagster").warning("traceback path /root/.pyenv/versions/x.py")

    instance = DagsterInstance.ephemeral()
    result = materialize([connects], resources={"vault": VaultResource(**analytics.resource_config())}, instance=instance)
    assert result.success
    text = "\n".join(e.user_message for e in instance.all_logs(result.run_id))
    assert "connecting to localhost:5432/postgres as admin (enabled=true)" in text
    assert f"with password {MASK}" in text
    assert canary not in text
