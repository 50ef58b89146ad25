package scan

import (
	"fmt"
	"strings"
	"testing"
)

func refsString(refs []EnvRef) string {
	var b strings.Builder
	for _, r := range refs {
		fmt.Fprintf(&b, "%s %d:%d %s", r.Rule, r.Line, r.Column, r.Name)
		if r.HasValue {
			fmt.Fprintf(&b, "=%s", r.Value)
		}
		b.WriteString("\n")
	}
	return b.String()
}

func TestFindEnvRefs(t *testing.T) {
	tests := []struct {
		name, kind, src, want string
	}{
		{"python", "python", `import os
a = os.environ["DB_PASSWORD"]
b = os.environ.get('API_TOKEN', None); c = os.getenv("LOG_LEVEL")
d = EnvVar("SNOWFLAKE_PASSWORD")
e = EnvVar.int("PORT")
cfg = {"password": {"env": "PG_PASSWORD"}}
f = os.environ["IGNORED"]  # gitleaks:allow
`, `env-ref-python 2:17 DB_PASSWORD
env-ref-python 3:21 API_TOKEN
env-ref-python 3:55 LOG_LEVEL
env-ref-dagster 4:13 SNOWFLAKE_PASSWORD
env-ref-dagster 5:17 PORT
env-ref-dagster 6:29 PG_PASSWORD
`},
		{"python multi-line", "python", `import os
import dagster as dg
a = os.getenv(
    "DB_PASSWORD",
)
b = dg.EnvVar(
    'SNOWFLAKE_PASSWORD'
)
c = os.environ[
  "API_TOKEN"]
`, `env-ref-python 4:6 DB_PASSWORD
env-ref-dagster 7:6 SNOWFLAKE_PASSWORD
env-ref-python 10:4 API_TOKEN
`},
		{"javascript", "javascript", `const url = process.env.DATABASE_URL;
const k = process.env["STRIPE_SECRET_KEY"] ?? import.meta.env.VITE_API_TOKEN;
const { A } = process.env; // not followed
const d = Deno.env.get('DENO_TOKEN');
const e = process.env.IGNORED; // env-scan:allow
`, `env-ref-javascript 1:25 DATABASE_URL
env-ref-javascript 2:24 STRIPE_SECRET_KEY
env-ref-javascript 2:63 VITE_API_TOKEN
env-ref-javascript 4:25 DENO_TOKEN
`},
		{"dbt sql", "sql", `select * from {{ source('raw', 'orders') }}
where key = '{{ env_var("DBT_ENV_SECRET_KEY") }}'
`, `env-ref-dbt 2:26 DBT_ENV_SECRET_KEY
`},
		{"dbt profile, defaults, anchors, flow maps", "yaml", `analytics:
  outputs:
    prod:
      password: "{{ env_var('DBT_PASSWORD') }}"
x-env: &common
  environment: &env
    REDIS_AUTH: ${REDIS_AUTH:-r3dis-canary}
services:
  cache:
    command: redis-server --requirepass ${REDIS_PASS:?required} --x ${DSN:-postgres://u:pw-canary@db/app}
    volumes:
      - ${PWD}:/data
  app:
    environment: {LOG_LEVEL: info, 'API_TOKEN': tok-canary-1}
`, `env-ref-dbt 4:30 DBT_PASSWORD
env-ref-compose 7:5 REDIS_AUTH=${REDIS_AUTH:-r3dis-canary}
env-ref-yaml 10:43 REDIS_PASS
env-ref-yaml 10:71 DSN=postgres://u:pw-canary@db/app
env-ref-yaml 12:11 PWD
env-ref-compose 14:19 LOG_LEVEL=info
env-ref-compose 14:37 API_TOKEN=tok-canary-1
`},
		{"compose", "yaml", `services:
  app:
    env_file:
      - .env
      - path: ./secrets.env
    environment:
      - LOG_LEVEL=debug
      - "SECRET_KEY=abc def"
      - API_TOKEN
    command: run
  db:
    env_file: [db.env, other.env]
    environment:
      POSTGRES_PASSWORD: ${PG_PASSWORD:-x}
      POSTGRES_USER: 'app' # the user
      EMPTY:
  worker:
    image: "x:${TAG}"
`, `env-ref-compose-env-file 4:9 .env
env-ref-compose-env-file 5:15 ./secrets.env
env-ref-compose 7:9 LOG_LEVEL=debug
env-ref-compose 8:10 SECRET_KEY=abc def
env-ref-compose 9:9 API_TOKEN
env-ref-compose-env-file 12:16 db.env
env-ref-compose-env-file 12:24 other.env
env-ref-compose 14:7 POSTGRES_PASSWORD=${PG_PASSWORD:-x}
env-ref-compose 15:7 POSTGRES_USER=app
env-ref-compose 16:7 EMPTY
env-ref-yaml 18:17 TAG
`},
		{"dagster yaml", "yaml", `resources:
  db:
    config:
      password:
        env: DB_PASSWORD
      user: {env: DB_USER}
`, `env-ref-dagster 5:14 DB_PASSWORD
env-ref-dagster 6:19 DB_USER
`},
		{"systemd", "systemd", `[Service]
Environment=LOG_LEVEL=info "DB_PASSWORD=a b" 'X=1'
# Environment=COMMENTED=1
EnvironmentFile=-/etc/app/app.env
`, `env-ref-systemd 2:13 LOG_LEVEL=info
env-ref-systemd 2:29 DB_PASSWORD=a b
env-ref-systemd 2:47 X=1
env-ref-systemd-env-file 4:18 /etc/app/app.env
`},
		{"shell", "shell", `#!/bin/sh
export API_TOKEN="abc def"
export PATH
declare -x DB_PASSWORD=x; echo
`, `env-ref-shell 2:8 API_TOKEN=abc def
env-ref-shell 3:8 PATH
env-ref-shell 4:12 DB_PASSWORD=x
`},
		{"unicode column", "python", "ß = «»; x = os.environ['SECRET_ÜBER']\ny = os.getenv('TOKEN')\n", "env-ref-python 2:16 TOKEN\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := refsString(FindEnvRefs(tt.kind, []byte(tt.src)))
			if got != tt.want {
				t.Errorf("FindEnvRefs(%s) =\n%s\nwant\n%s", tt.kind, got, tt.want)
			}
		})
	}
}

func TestEnvRefKind(t *testing.T) {
	for name, want := range map[string]string{
		"app/jobs.py": "python", "docker-compose.yml": "yaml", "k8s/x.yaml": "yaml",
		"systemd/app.service": "systemd", "etc/app.service.d/override.conf": "systemd",
		"deploy.sh": "shell", ".envrc": "shell", "README.md": "", "nginx.conf": "",
		"web/src/api.ts": "javascript", "app.mjs": "javascript", "models/orders.sql": "sql",
	} {
		if got := EnvRefKind(name); got != want {
			t.Errorf("EnvRefKind(%q) = %q; want %q", name, got, want)
		}
	}
}

func TestIsDotenvName(t *testing.T) {
	for name, want := range map[string]bool{
		".env": true, "app/.env.production": true, "prod.env": true, ".envrc": false, "env.py": false, "environment": false,
	} {
		if got := IsDotenvName(name); got != want {
			t.Errorf("IsDotenvName(%q) = %v; want %v", name, got, want)
		}
	}
}

func FuzzFindEnvRefs(f *testing.F) {
	f.Add("python", "x = os.environ['A']\n")
	f.Add("yaml", "environment:\n  - A=1\n  B: 2\nenv_file: [a]\n")
	f.Add("systemd", "Environment=\"A=1\" B='2\n")
	f.Add("shell", "export A='x\n")
	f.Add("python", "a = os.getenv(\n  \"A\")\n")
	f.Add("javascript", "process.env.A; import.meta.env[\"B\"]\n")
	f.Add("sql", "{{ env_var('A') }}\n")
	f.Add("yaml", "environment: &x {A: 1, 'B': ${C:-d}}\n")
	f.Fuzz(func(t *testing.T, kind, src string) {
		lines := strings.Count(src, "\n") + 1
		for _, r := range FindEnvRefs(kind, []byte(src)) {
			if r.Line < 1 || r.Line > lines || r.Column < 1 {
				t.Fatalf("ref %+v out of range (%d lines)", r, lines)
			}
			if r.Name == "" {
				t.Fatalf("ref %+v has no name", r)
			}
		}
	})
}

func TestHelperRefs(t *testing.T) {
	re, err := HelperPattern([]string{"env", "settings.get_env"})
	if err != nil {
		t.Fatal(err)
	}
	src := "a = env(\"DB_PASSWORD\")\nb = settings.get_env(\n  'API_TOKEN')\nc = myenv(\"NOT_THIS\")\nd = x.env('NOR_THIS')\n"
	want := "env-ref-helper 1:10 DB_PASSWORD\nenv-ref-helper 3:4 API_TOKEN\n"
	if got := refsString(FindHelperRefs(re, []byte(src))); got != want {
		t.Errorf("FindHelperRefs =\n%s\nwant\n%s", got, want)
	}
	if _, err := HelperPattern([]string{"env("}); err == nil {
		t.Error("HelperPattern accepted env(")
	}
}
