"""The "analytics" code location: two assets whose credentials come from
Vault at run time — dynamic PostgreSQL users and a partner API key — and
nothing in .env.

Configuration comes from the environment (see ../README.md):
VAULT_ADDR, VAULT_CACERT, ANALYTICS_ROLE_ID_FILE, ANALYTICS_SECRET_ID_FILE,
ANALYTICS_PG_HOST, ANALYTICS_PG_PORT, ANALYTICS_PARTNER_URL.
"""

import json
import urllib.error
import urllib.request
from typing import Any

import psycopg
from dagster import (
    AssetExecutionContext,
    ConfigurableResource,
    Definitions,
    EnvVar,
    MaterializeResult,
    asset,
    define_asset_job,
)

from dagster_vault import AppRoleAuth, Secret, VaultResource, VaultSecret


class Warehouse(ConfigurableResource):
    """PostgreSQL with a fresh, short-lived user per run (Vault's database
    secrets engine, role analytics-ro): renewed while the run lasts,
    dropped when it ends."""

    vault: VaultResource
    host: str = "127.0.0.1"
    port: int = 5432
    dbname: str = "postgres"
    role: str = "analytics-ro"

    def connect(self) -> psycopg.Connection[Any]:
        creds = self.vault.database_credentials(self.role)
        return psycopg.connect(
            host=self.host,
            port=self.port,
            dbname=self.dbname,
            user=creds.username,
            password=creds.password.reveal(),
            connect_timeout=10,
        )


class PartnerApi(ConfigurableResource):
    """An HTTP API authenticated with a key kept in Vault."""

    vault: VaultResource
    base_url: str
    api_key: str = VaultSecret("vault:secret/data/analytics/partner-api#key")

    def get(self, path: str) -> Any:
        def call(key: Secret) -> Any:
            req = urllib.request.Request(self.base_url.rstrip("/") + path, headers={"Authorization": f"Bearer {key.reveal()}"})
            with urllib.request.urlopen(req, timeout=10) as resp:
                return json.load(resp)

        # A 401 may mean the key was rotated since the run read it: re-read once.
        return self.vault.with_rotation(self.api_key, call, retry_on=(urllib.error.HTTPError,))


@asset
def login_roles(context: AssetExecutionContext, warehouse: Warehouse) -> MaterializeResult:
    """How many login roles the warehouse has (a stand-in for a real query)."""
    with warehouse.connect() as conn:
        count = conn.execute("select count(*) from pg_roles where rolcanlogin").fetchone()[0]
    context.log.info(f"warehouse has {count} login roles")
    return MaterializeResult(metadata={"login_roles": count})


@asset
def partner_status(context: AssetExecutionContext, partner: PartnerApi) -> MaterializeResult:
    """The partner API's status, fetched with the key from Vault."""
    status = partner.get("/status")
    context.log.info(f"partner status: {status.get('status')}")
    return MaterializeResult(metadata={"status": str(status.get("status"))})


vault = VaultResource(
    url=EnvVar("VAULT_ADDR"),
    ca_cert=EnvVar("VAULT_CACERT"),
    approle=AppRoleAuth(
        role_id_file=EnvVar("ANALYTICS_ROLE_ID_FILE"),
        secret_id_file=EnvVar("ANALYTICS_SECRET_ID_FILE"),
    ),
)

analytics_job = define_asset_job("analytics_job", selection=[login_roles, partner_status])

defs = Definitions(
    assets=[login_roles, partner_status],
    jobs=[analytics_job],
    resources={
        "vault": vault,
        "warehouse": Warehouse(
            vault=vault,
            host=EnvVar("ANALYTICS_PG_HOST"),
            port=EnvVar.int("ANALYTICS_PG_PORT"),
        ),
        "partner": PartnerApi(vault=vault, base_url=EnvVar("ANALYTICS_PARTNER_URL")),
    },
)
