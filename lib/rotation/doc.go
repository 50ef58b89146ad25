// Package rotation holds vaultpipe's secret rotation: the rotation policy
// (policies/rotation.hcl: which KV v2 secrets rotate, how often, when, how a
// new value is made, and the hooks that install and prove it), the schedule
// arithmetic (periods such as "90d" and systemd-like calendars), and the
// two-phase rotation itself, modelled on AWS Secrets Manager's
// create / set / test / finish steps.
//
// # Where the staged value lives
//
// A KV v2 reader (vault kv get, hvac, dagster-vault's get_secret) always gets
// the latest version of a path, so a new value may only be written to the
// secret's own path once it has passed its test. Until then it lives in a
// separate staging secret in the same mount, <mount>/data/_rotation/<path>,
// whose data is the rotation record: stage, rotation id, the version of the
// secret it started from (base_version), the owner (host, pid) and its lease,
// and the staged value. custom_metadata was rejected as the store: it is
// capped at 512 bytes a value and readable by anyone who may read the
// secret's metadata, while the staging path is covered only by the rotator's
// policy (readers' policies name their own prefixes, never _rotation/).
// The record's older versions keep the values staged in them, as the
// secret's own history keeps its old values; both are pruned by
// max_versions, which an admin sets (the rotator may not).
//
// # Steps and stages
//
//	create  generate a value; CAS-write the staging record (stage "created")
//	set     run the set hook (the target now accepts the new value); stage "set"
//	test    run the test hook (the new value works);                  stage "tested"
//	finish  CAS-write the secret itself (cas = base_version): the new value
//	        becomes current, the old one stays readable as version
//	        base_version, labelled "previous" in custom_metadata until the
//	        grace period ends; then stage "finished" (value dropped).
//
// Every step starts by reading the record and the secret: a record left by
// a run that died (its pid is gone, or its lease has run out) is taken over
// with a CAS write and resumed from its stage; a record whose base version
// is no longer current is rolled back (the secret was changed by someone
// else), unless the current value is the staged one (the previous run died
// between promoting and recording it), which is simply finished. All writes
// of the record and of the secret are check-and-set, so of two concurrent
// runs only one claims a rotation; the other reports it as contested. A test
// hook that fails makes the set hook run again with the old value
// ("rollback"), marks the record "failed", and leaves the secret untouched.
//
// Hooks are commands from the policy. They get one JSON request on stdin
// (action, path, key, value, current_value, rotation_id), never a value in
// argv or the environment (their environment is PATH, LANG and TZ only: no
// Vault token), answer with their exit code and one JSON line on stdout
// ({"ok": true, "message": "…"}), and are killed, with their process group,
// after their timeout.
package rotation
