"""The reference format vault:<mount>/data/<path>#<key>."""

import json
import random
import string

import pytest
from servers import REPO

from dagster_vault import Secret, SecretData, VaultReferenceError, VaultSecret, parse_reference
from dagster_vault.secret import MASK, RedactingFilter, Redactor


# The cases lib/ref's Go tests read too: the Python mirror must agree with Go.
CASES = json.loads((REPO / "lib" / "ref" / "testdata" / "cases.json").read_text(encoding="utf-8"))


@pytest.mark.parametrize("case", CASES["valid"], ids=lambda c: c["in"])
def test_parse_valid(case: dict[str, str]) -> None:
    ref = parse_reference(case["in"])
    assert (ref.mount, ref.path, ref.key) == (case["mount"], case["path"], case["key"])
    assert str(ref) == case["in"]
    assert parse_reference(str(ref)) == ref


@pytest.mark.parametrize("case", CASES["invalid"], ids=lambda c: repr(c["in"]))
def test_parse_invalid_says_which_part_without_quoting(case: dict[str, str]) -> None:
    with pytest.raises(VaultReferenceError) as e:
        parse_reference(case["in"])
    assert case["error"] in str(e.value)
    if case["in"]:
        assert case["in"] not in str(e.value)


def test_vault_secret_is_canonical_string_and_fails_at_definition() -> None:
    v = VaultSecret("secret/data/app/db#password")
    assert isinstance(v, str) and v == "vault:secret/data/app/db#password"
    assert v.reference.key == "password"
    with pytest.raises(VaultReferenceError):
        VaultSecret("secret/app/db")


def test_secret_never_shows_value() -> None:
    s = Secret("hunter2-value")
    for shown in (str(s), repr(s), f"{s}", f"{s!r}", "%s" % s, "{}".format(s), str([s]), str({"k": s})):
        assert "hunter2-value" not in shown
    assert s.reveal() == "hunter2-value"
    assert s == Secret("hunter2-value") and s != Secret("other-value")
    with pytest.raises(TypeError):
        import pickle

        pickle.dumps(s)


def test_secret_data_repr_shows_keys_not_values() -> None:
    d = SecretData("app/db", {"password": Secret("p4ssw0rd-x")}, mount="secret", version=3, created_time=None, custom_metadata=None)
    assert "p4ssw0rd-x" not in repr(d) and "p4ssw0rd-x" not in str(d)
    assert "password" in repr(d) and "version=3" in repr(d)
    assert d.reveal() == {"password": "p4ssw0rd-x"}


def test_redactor_masks_longest_first_and_skips_short_values() -> None:
    r = Redactor()
    r.add("abc")  # too short to mask safely
    r.add("secret-one")
    r.add("secret-one-and-more")
    assert r.redact("x secret-one-and-more y secret-one abc") == f"x {MASK} y {MASK} abc"


def test_redacting_filter_masks_message_args_and_exceptions() -> None:
    import logging

    r = Redactor()
    r.add("topsecret-123")
    f = RedactingFilter(r)
    rec = logging.LogRecord("x", logging.INFO, __file__, 1, "value=%s", ("topsecret-123",), None)
    assert f.filter(rec)
    assert rec.getMessage() == f"value={MASK}"
    try:
        raise ValueError("bad topsecret-123")
    except ValueError:
        import sys

        rec = logging.LogRecord("x", logging.ERROR, __file__, 1, "failed", (), sys.exc_info())
    f.filter(rec)
    assert "topsecret-123" not in logging.Formatter().format(rec)


def test_fuzz_parse_never_raises_anything_but_reference_error() -> None:
    # A seeded fuzz of the parser of untrusted config text: it either parses
    # to a reference that round-trips, or raises VaultReferenceError.
    rng = random.Random(4)
    alphabet = string.ascii_letters + string.digits + "/#:.-_ \t\x00éк١?"
    seeds = ["vault:secret/data/app/prod#DB_PASSWORD", "vault:a/b/data/c#d", "vault:", "vault:x/data/y#", "vault:secret/data/a#ü"]
    for i in range(3000):
        base = seeds[i % len(seeds)]
        chars = list(base)
        for _ in range(rng.randint(0, 4)):
            op = rng.random()
            pos = rng.randint(0, len(chars))
            if op < 0.5:
                chars.insert(pos, rng.choice(alphabet))
            elif chars:
                del chars[min(pos, len(chars) - 1)]
        text = "".join(chars)
        try:
            ref = parse_reference(text)
        except VaultReferenceError:
            continue
        assert parse_reference(str(ref)) == ref
