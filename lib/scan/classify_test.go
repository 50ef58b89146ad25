package scan

import (
	"strings"
	"testing"
)

func TestClassify(t *testing.T) {
	tests := []struct {
		name, value string
		class       Class
		conf        Confidence
	}{
		{"LOG_LEVEL", "info", ClassConfig, None},
		{"PORT", "8080", ClassConfig, None},
		{"DEBUG", "true", ClassConfig, None},
		{"DB_PASSWORD", "s3cr3t-Passw0rd", ClassPassword, High},
		{"DB_PASSWORD", "abc", ClassPassword, Medium},
		{"DB_PASSWORD", "changeme", ClassPassword, Low},
		{"DB_PASSWORD", "<your password>", ClassPassword, Low},
		{"DB_PASSWORD", "", ClassConfig, None},
		{"DB_PASSWORD", "${DB_PASSWORD}", ClassConfig, None},
		{"DB_PASSWORD", "$DB_PASSWORD", ClassConfig, None},
		{"DB_PASSWORD", "vault:secret/data/app#db_password", ClassConfig, None},
		{"DB_PASSWORD_FILE", "/run/secrets/db", ClassConfig, None},
		{"dbPassword", "hunter2hunter2", ClassPassword, High},
		{"GITHUB_TOKEN", "tok-1234567890", ClassToken, High},
		{"TOKEN_TTL", "3600", ClassConfig, None},
		{"SECRET_KEY", "a-long-django-secret", ClassSecret, High},
		{"STRIPE_KEY", "sk-whatever-1234", ClassKey, High},
		{"API_KEY", "k-1234567890", ClassKey, High},
		{"PUBLIC_KEY", "AAAAB3NzaC1yc2E", ClassConfig, None},
		{"CACHE_KEY_PREFIX", "app", ClassConfig, None},
		{"AWS_ACCESS_KEY_ID", "AKIAEXAMPLE", ClassConfig, None},
		{"GOOGLE_CREDENTIALS", "{\"type\":\"service_account\"}", ClassCredential, High},
		{"DATABASE_URL", "postgres://app:pw-canary@db:5432/app", ClassDSN, High},
		{"DATABASE_URL", "postgres://app@db:5432/app", ClassConfig, None},
		{"DATABASE_URL", "postgres://app:${PW}@db/app", ClassConfig, None},
		{"REDIS", "redis://:only-password@cache:6379/0", ClassDSN, High},
		{"MYSQL_DSN", "user:pa55word@tcp(db:3306)/app", ClassDSN, High},
		{"PG", "postgres://u:p4ss@h1,h2/db", ClassDSN, High},
		{"TLS_KEY", "-----BEGIN RSA PRIVATE KEY-----\nMIIB\n-----END RSA PRIVATE KEY-----", ClassPrivateKey, High},
		{"BLOB", "Zx8Kq2Lm9Np4Rt7Vw1Yb3Cd6Fg", ClassHighEntropy, Medium},
		{"BLOB", "aaaaaaaaaaaaaaaaaaaaaaaa", ClassConfig, None},
		{"HOME_URL", "https://example.com/a/b/c/d/e/f", ClassConfig, None},
		{"CLÉ_SECRET", "värdeCanary123", ClassSecret, High},
		// placeholders are never high
		{"API_TOKEN", "__REPLACE_ME__", ClassToken, Low},
		{"API_TOKEN", "CHANGEME", ClassToken, Low},
		{"DB_PASSWORD", "00000000-0000-0000-0000-000000000000", ClassPassword, Low},
		{"SECRET_KEY", "xxxxxxxxxxxxxxxxxxxxxxxxxxxx", ClassSecret, Low},
		{"SECRET_KEY", "************", ClassSecret, Low},
		{"DATABASE_URL", "postgres://app:changeme@db/app", ClassConfig, None},
		{"DATABASE_URL", "postgres://app:__REPLACE_ME__@db/app", ClassConfig, None},
		// words, not random: no entropy finding
		{"DAGSTER_LOGGERS", "dagster,urllib3,botocore,snowflake.connector", ClassConfig, None},
		{"BASE_IMAGE", "ghcr.io/acme-data/pipeline-runner:2024.11.3", ClassConfig, None},
		{"MODEL_ID", "gpt-4o-mini-2024-07-18", ClassConfig, None},
		{"EMBEDDINGS", "sentence-transformers/all-MiniLM-L6-v2", ClassConfig, None},
		{"STRIPE", "sk_live_4eC39HqLyjWDarjtT1zdp7dc", ClassHighEntropy, Medium},
		// names this audience writes
		{"REDIS_AUTH", "r3dis-canary-pw", ClassPassword, High},
		{"SLACK_WEBHOOK_URL", "https://hooks.example.com/services/T0/B0/canary", ClassSecret, High},
		{"AUTH_ENABLED", "true", ClassConfig, None},
		{"OAUTH_URL", "https://login.example.com/authorize", ClassConfig, None},
		{"PWD", "/home/app", ClassConfig, None},
		{"DB_PWD", "pw-canary-123", ClassPassword, High},
	}
	for _, tt := range tests {
		class, conf := Classify(tt.name, tt.value)
		if class != tt.class || conf != tt.conf {
			t.Errorf("Classify(%q, %q) = %s, %s; want %s, %s", tt.name, tt.value, class, conf, tt.class, tt.conf)
		}
	}
}

func TestNameTokens(t *testing.T) {
	got := strings.Join(nameTokens("my_dbPassword2.x-y"), ",")
	if want := "MY,DB,PASSWORD2,X,Y"; got != want {
		t.Errorf("nameTokens = %s; want %s", got, want)
	}
}

func TestEntropy(t *testing.T) {
	if e := Entropy("aaaa"); e != 0 {
		t.Errorf("Entropy(aaaa) = %v; want 0", e)
	}
	if e := Entropy("abcd"); e != 2 {
		t.Errorf("Entropy(abcd) = %v; want 2", e)
	}
}

func FuzzClassify(f *testing.F) {
	f.Add("DB_PASSWORD", "hunter2")
	f.Add("DATABASE_URL", "postgres://u:p@h/db")
	f.Add("X", "-----BEGIN PRIVATE KEY-----")
	f.Add("ключ", "значение")
	f.Add("", "://@")
	f.Fuzz(func(t *testing.T, name, value string) {
		class, conf := Classify(name, value)
		if _, ok := classDescriptions[class]; !ok {
			t.Fatalf("Classify(%q, %q) gave unknown class %q", name, value, class)
		}
		if (class == ClassConfig) != (conf == None) {
			t.Fatalf("Classify(%q, %q) = %s, %s: config must go with none", name, value, class, conf)
		}
	})
}
