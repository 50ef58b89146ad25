"""Example Dagster code location "analytics", wired to Vault with dagster-vault."""
