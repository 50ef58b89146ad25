"""A two-step job on AppRole for `dagster job execute` (test_login.py):
each step reads a secret. TWO_STEP_EXECUTOR=in_process runs both steps in
the CLI's process; TWO_STEP_REMOVE_SECRET_ID=1 deletes the secret_id file
after the login, as a single-process deployment would."""

import os

from dagster import Definitions, EnvVar, in_process_executor, job, multiprocess_executor, op

from dagster_vault import AppRoleAuth, VaultResource, VaultSecretsResource


@op
def first(vault: VaultResource) -> str:
    vault.get_secret("analytics/two-step", "token")
    return "ok"


@op
def second(previous: str, secrets: VaultSecretsResource) -> None:
    assert secrets.get("token").reveal()


vault = VaultResource(
    url=EnvVar("VAULT_ADDR"),
    ca_cert=EnvVar("VAULT_CACERT"),
    approle=AppRoleAuth(
        role_id_file=EnvVar("ANALYTICS_ROLE_ID_FILE"),
        secret_id_file=EnvVar("ANALYTICS_SECRET_ID_FILE"),
        remove_secret_id_file=os.environ.get("TWO_STEP_REMOVE_SECRET_ID") == "1",
    ),
)


@job(executor_def=in_process_executor if os.environ.get("TWO_STEP_EXECUTOR") == "in_process" else multiprocess_executor)
def two_step() -> None:
    second(first())


defs = Definitions(
    jobs=[two_step],
    resources={
        "vault": vault,
        "secrets": VaultSecretsResource(vault=vault, secrets={"token": "vault:secret/data/analytics/two-step#token"}),
    },
)
