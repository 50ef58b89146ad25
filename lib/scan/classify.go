package scan

import (
	"math"
	"net/url"
	"regexp"
	"strings"
	"unicode"
)

// Class is what a name/value pair looks like.
type Class string

const (
	ClassPrivateKey  Class = "private-key"
	ClassDSN         Class = "dsn-credentials"
	ClassPassword    Class = "password"
	ClassToken       Class = "token"
	ClassSecret      Class = "secret"
	ClassKey         Class = "key"
	ClassCredential  Class = "credential"
	ClassHighEntropy Class = "high-entropy"
	ClassConfig      Class = "config"
)

var classDescriptions = map[Class]string{
	ClassPrivateKey:  "a private key block",
	ClassDSN:         "a connection string or URL with a password in it",
	ClassPassword:    "a password",
	ClassToken:       "a token",
	ClassSecret:      "a secret",
	ClassKey:         "an API, access or signing key",
	ClassCredential:  "credentials",
	ClassHighEntropy: "a high-entropy value that looks random",
	ClassConfig:      "plain configuration",
}

var nameClasses = map[string]Class{
	"PASSWORD": ClassPassword, "PASSWD": ClassPassword, "PWD": ClassPassword, "PASS": ClassPassword,
	"PASSPHRASE": ClassPassword, "PW": ClassPassword,
	"TOKEN": ClassToken, "JWT": ClassToken, "BEARER": ClassToken, "PAT": ClassToken,
	"SECRET": ClassSecret, "SECRETS": ClassSecret,
	"APIKEY": ClassKey, "ACCESSKEY": ClassKey, "PRIVATEKEY": ClassKey,
	"CREDENTIAL": ClassCredential, "CREDENTIALS": ClassCredential, "CREDS": ClassCredential,
	"DSN": ClassDSN,
}

// keyQualifiers turn a plain KEY token into a secret key name.
var keyQualifiers = map[string]bool{
	"API": true, "ACCESS": true, "PRIVATE": true, "SECRET": true, "SIGNING": true, "ENCRYPTION": true,
	"MASTER": true, "AUTH": true, "HMAC": true, "CLIENT": true, "LICENSE": true, "SERVICE": true,
	"WEBHOOK": true, "APP": true, "ACCOUNT": true, "CRYPT": true, "CIPHER": true, "SESSION": true,
}

// notSecretSuffix: a name ending in one of these names something about a
// secret (where it is, how long it lives), not the secret itself.
var notSecretSuffix = map[string]bool{
	"FILE": true, "PATH": true, "DIR": true, "ENDPOINT": true, "HOST": true, "PORT": true,
	"TTL": true, "EXPIRY": true, "EXPIRES": true, "EXPIRATION": true, "TIMEOUT": true,
	"LENGTH": true, "LEN": true, "SIZE": true, "ENABLED": true, "DISABLED": true,
	"ENABLE": true, "DISABLE": true, "USER": true, "USERNAME": true, "NAME": true, "ID": true,
	"TYPE": true, "MODE": true, "VERSION": true, "HEADER": true, "PREFIX": true, "REGION": true,
	"ALGORITHM": true, "ALG": true, "FORMAT": true, "COUNT": true, "MAX": true, "MIN": true,
	"FIELD": true, "PARAM": true, "ENV": true, "VAR": true, "COOKIE": true, "ISSUER": true,
	"AUDIENCE": true, "SCOPE": true, "SCOPES": true, "POLICY": true, "ROLE": true, "MOUNT": true,
}

// nameTokens splits MY_dbPassword2 into MY, DB, PASSWORD2 → upper-case words.
func nameTokens(name string) []string {
	var toks []string
	var cur []rune
	flush := func() {
		if len(cur) > 0 {
			toks = append(toks, strings.ToUpper(string(cur)))
			cur = cur[:0]
		}
	}
	rs := []rune(name)
	for i, r := range rs {
		switch {
		case !unicode.IsLetter(r) && !unicode.IsDigit(r):
			flush()
		case unicode.IsUpper(r) && i > 0 && unicode.IsLower(rs[i-1]):
			flush()
			cur = append(cur, r)
		default:
			cur = append(cur, r)
		}
	}
	flush()
	return toks
}

// ClassifyName returns the class a variable name suggests, or ClassConfig.
func ClassifyName(name string) Class {
	toks := nameTokens(name)
	if len(toks) == 0 {
		return ClassConfig
	}
	last := toks[len(toks)-1]
	if notSecretSuffix[last] {
		return ClassConfig
	}
	switch {
	case len(toks) == 1 && (last == "PWD" || last == "OLDPWD"):
		return ClassConfig // the shell's working directory, not a password
	case len(toks) > 1 && last == "AUTH":
		return ClassPassword // REDIS_AUTH, BASIC_AUTH
	case last == "WEBHOOK" || len(toks) > 1 && last == "URL" && toks[len(toks)-2] == "WEBHOOK":
		return ClassSecret // SLACK_WEBHOOK_URL: the URL is the credential
	}
	best := ClassConfig
	for i, t := range toks {
		c, ok := nameClasses[t]
		if !ok && (t == "KEY" || t == "KEYS") && i > 0 {
			// STRIPE_KEY and API_KEY are keys; PUBLIC_KEY and a bare KEY are not
			prev := toks[i-1]
			if prev != "PUBLIC" && (keyQualifiers[prev] || i == len(toks)-1) {
				c, ok = ClassKey, true
			}
		}
		if ok && (best == ClassConfig || classRank(c) > classRank(best)) {
			best = c
		}
	}
	return best
}

func classRank(c Class) int {
	switch c {
	case ClassPassword, ClassToken, ClassSecret:
		return 3
	case ClassKey, ClassCredential:
		return 2
	case ClassDSN:
		return 1
	}
	return 0
}

var (
	refPattern    = regexp.MustCompile(`^(?:\$\{[^}]*\}|\$[A-Za-z_][A-Za-z0-9_]*|\{\{.*\}\}|\$\{\{.*\}\}|%[A-Za-z_][A-Za-z0-9_]*%)$`)
	bareDSN       = regexp.MustCompile(`^[^:/@\s]+:([^@\s]+)@\S+`)
	placeholderRe = regexp.MustCompile(`(?i)^(?:<[^>]*>|\[[^\]]*\]|x+|\*+|\.+|-+|changeme|change[-_]?me|changeit|todo|tbd|placeholder|example|dummy|fake|test|none|null|secret|password|passwd|token|your[-_a-z0-9]*|my[-_]?(?:secret|password|token)|replace[-_a-z0-9]*|fixme)$`)
)

// IsReference reports whether value points elsewhere rather than holding a
// secret: a vault: reference or a ${VAR}/$VAR/{{ template }} expansion.
func IsReference(value string) bool {
	v := strings.TrimSpace(value)
	return IsVaultRef(v) || refPattern.MatchString(v)
}

// IsPlaceholder reports whether value is an obvious stand-in: changeme,
// <token>, __REPLACE_ME__, or one character repeated (00000000-0000-…,
// xxxxxxxx) once separators are dropped.
func IsPlaceholder(value string) bool {
	v := strings.TrimSpace(value)
	if placeholderRe.MatchString(v) || placeholderRe.MatchString(strings.Trim(v, "_-.*#%@!{}")) {
		return true
	}
	core := strings.Map(func(r rune) rune {
		if strings.ContainsRune("-_.:/ ", r) {
			return -1
		}
		return r
	}, v)
	if len(core) >= 4 && strings.Count(core, core[:1]) == len(core) {
		return true
	}
	return false
}

var plainValue = regexp.MustCompile(`(?i)^(?:true|false|yes|no|on|off|-?[0-9]+(?:\.[0-9]+)?[a-z]{0,3}|debug|info|warn|warning|error|critical|trace)$`)

// Classify grades one name/value pair, as found in a .env file or an
// environment block. It never keeps value.
func Classify(name, value string) (Class, Confidence) {
	v := strings.TrimSpace(value)
	if v == "" || IsReference(v) {
		return ClassConfig, None
	}
	if strings.Contains(v, "-----BEGIN") && strings.Contains(v, "PRIVATE KEY") {
		return ClassPrivateKey, High
	}
	if hasURLPassword(v) {
		return ClassDSN, High
	}
	nc := ClassifyName(name)
	if nc != ClassConfig && nc != ClassDSN {
		switch {
		case plainValue.MatchString(v) && !isDigits(v):
			// TOKEN_ENABLED-like flags that slipped through the suffix list
			return nc, Low
		case IsPlaceholder(v):
			return nc, Low
		case len(v) < 8:
			return nc, Medium
		}
		return nc, High
	}
	if c := entropyConfidence(v); c != None {
		return ClassHighEntropy, c
	}
	return ClassConfig, None
}

func isDigits(s string) bool {
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return s != ""
}

func hasURLPassword(v string) bool {
	if strings.Contains(v, "://") {
		if u, err := url.Parse(v); err == nil && u.User != nil {
			p, ok := u.User.Password()
			return ok && p != "" && !IsReference(p) && !IsPlaceholder(p)
		}
		// url.Parse rejects some DSNs (postgres://u:p@h1,h2/db); look at the userinfo by hand
		rest := v[strings.Index(v, "://")+3:]
		if at := strings.LastIndex(rest, "@"); at > 0 {
			if _, p, ok := strings.Cut(rest[:at], ":"); ok && p != "" && !IsReference(p) && !IsPlaceholder(p) {
				return true
			}
		}
		return false
	}
	if m := bareDSN.FindStringSubmatch(v); m != nil {
		return !IsReference(m[1]) && !IsPlaceholder(m[1])
	}
	return false
}

// entropyConfidence grades values that look random whatever their name.
func entropyConfidence(v string) Confidence {
	if len(v) < 16 || strings.ContainsAny(v, " \t") || strings.Contains(v, "://") || strings.HasPrefix(v, "/") || strings.HasPrefix(v, "./") || wordy(v) {
		return None
	}
	var classes int
	for _, set := range []string{"abcdefghijklmnopqrstuvwxyz", "ABCDEFGHIJKLMNOPQRSTUVWXYZ", "0123456789"} {
		if strings.ContainsAny(v, set) {
			classes++
		}
	}
	e := Entropy(v)
	switch {
	case len(v) >= 20 && e >= 4.2 && classes >= 2:
		return Medium
	case e >= 3.8 && classes >= 2:
		return Low
	}
	return None
}

// Entropy is the Shannon entropy of s in bits per byte.
func Entropy(s string) float64 {
	if s == "" {
		return 0
	}
	var counts [256]int
	for i := 0; i < len(s); i++ {
		counts[s[i]]++
	}
	n := float64(len(s))
	var e float64
	for _, c := range counts {
		if c > 0 {
			p := float64(c) / n
			e -= p * math.Log2(p)
		}
	}
	return e
}

var (
	wordPart   = regexp.MustCompile(`^(?:[a-z]+|[A-Z]+|[A-Z][a-z]+(?:[A-Z][a-z]+)*[A-Z]{0,3}|[0-9]+|[A-Za-z]*[a-z][0-9]{1,2}|[A-Za-z0-9]{1,4})$`)
	wordSplits = func(r rune) bool { return strings.ContainsRune("/,-_.:@=+;", r) }
)

// wordy reports whether v is made of words, numbers and separators — a
// logger list (dagster,urllib3), an image (ghcr.io/org/app:1.2), a model
// id (gpt-4o-mini-2024-07-18) — rather than random characters.
func wordy(v string) bool {
	parts := strings.FieldsFunc(v, wordSplits)
	if len(parts) < 2 {
		return false
	}
	for _, p := range parts {
		if !wordPart.MatchString(p) || len(p) > 12 && !isDigits(p) {
			return false
		}
	}
	return true
}
