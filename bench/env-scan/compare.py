"""Compare env-scan's secret findings with a gitleaks JSON report.

usage: compare.py GITLEAKS_JSON GITLEAKS_ROOT ENV_SCAN_JSONL ENV_SCAN_ROOT

A finding is (file relative to its root, line, rule). gitleaks reports the
line where a rule's match starts, env-scan the line of the secret itself, so
an env-scan line inside gitleaks' [StartLine, EndLine] counts as equal.
Prints counts and both sides' extras as file, line and rule (never a
secret value: neither report's Secret, Match or fingerprint is printed);
exits 1 when they differ.
"""
import json
import sys


def rel(path, root):
    root = root.rstrip("/") + "/"
    return path[len(root):] if path.startswith(root) else path


def main():
    gl_path, gl_root, es_path, es_root = sys.argv[1:5]
    with open(gl_path) as f:
        gl = json.load(f)
    es = []
    with open(es_path) as f:
        for line in f:
            d = json.loads(line)
            if d["kind"] == "secret":
                es.append((rel(d["file"], es_root), d["line"], d["rule"]))
    gl_keys = {}
    for d in gl:
        key = (rel(d["File"], gl_root), d["RuleID"])
        gl_keys.setdefault(key, []).append((d["StartLine"], d["EndLine"]))
    unmatched_es = []
    used = set()
    for file, line, rule in sorted(set(es)):
        spans = gl_keys.get((file, rule), [])
        hit = next((s for s in spans if s[0] <= line <= max(s[1], s[0]) and (file, rule, s) not in used), None)
        if hit is None:
            unmatched_es.append((file, line, rule))
        else:
            used.add((file, rule, hit))
    unmatched_gl = sorted(
        (file, s[0], rule) for (file, rule), spans in gl_keys.items() for s in set(spans) if (file, rule, s) not in used
    )
    gl_unique = sum(len(set(v)) for v in gl_keys.values())
    print(f"gitleaks findings: {len(gl)} ({gl_unique} distinct file/line/rule)")
    print(f"env-scan findings: {len(es)} ({len(set(es))} distinct)")
    print(f"only gitleaks (file, line, rule): {len(unmatched_gl)}")
    for x in unmatched_gl:
        print("  ", *x)
    print(f"only env-scan (file, line, rule): {len(unmatched_es)}")
    for x in unmatched_es:
        print("  ", *x)
    return 1 if unmatched_gl or unmatched_es else 0


if __name__ == "__main__":
    sys.exit(main())
