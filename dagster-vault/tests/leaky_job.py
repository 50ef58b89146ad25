"""A job that does its best to leak the secrets it reads — logging at every
level, printing, raising — then fails on purpose. test_leak.py runs it in
process and through the dagster CLI and searches everything it left."""

import json
import logging
import sys

from dagster import Definitions, EnvVar, OpExecutionContext, get_dagster_logger, job, op

from dagster_vault import AppRoleAuth, VaultResource


@op
def chatty(context: OpExecutionContext, vault: VaultResource) -> None:
    pw = vault.get_secret("analytics/leak", "password")
    everything = vault.get_secret("analytics/leak")
    creds = vault.database_credentials("analytics-ro")
    for level in (logging.DEBUG, logging.INFO, logging.WARNING, logging.ERROR, logging.CRITICAL):
        context.log.log(level, f"wrapped: {pw} {everything} {creds} {vault}")
        context.log.log(level, f"revealed: {pw.reveal()} db={creds.password.reveal()}")
        context.log.log(level, "as args: %s %s", everything["api_key"].reveal(), everything.reveal())
    # A JSON value: the strings inside it are masked, not only the whole.
    inner = json.loads(everything["credentials"].reveal())["inner"]
    context.log.info(f"nested: {inner}")
    get_dagster_logger().warning(f"python logger: {pw.reveal()} {inner}")
    logging.getLogger("dagster").error("dagster logger: %s", pw.reveal())
    print(f"stdout: {pw} {everything!r} {creds!r}")
    print(f"stderr: {pw} {vault!r}", file=sys.stderr)
    try:
        raise ValueError(f"inner cause {everything['api_key'].reveal()}")
    except ValueError as inner:
        raise RuntimeError(f"deliberate failure: {pw.reveal()}") from inner


@job
def leaky() -> None:
    chatty()


defs = Definitions(
    jobs=[leaky],
    resources={
        "vault": VaultResource(
            url=EnvVar("VAULT_ADDR"),
            ca_cert=EnvVar("VAULT_CACERT"),
            approle=AppRoleAuth(
                role_id_file=EnvVar("ANALYTICS_ROLE_ID_FILE"),
                secret_id_file=EnvVar("ANALYTICS_SECRET_ID_FILE"),
            ),
        )
    },
)
