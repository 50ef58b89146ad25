// Package auditlog reads, filters and keeps Vault's file audit logs: one
// JSON object per line, a "request" and a "response" entry per request.
//
// Reading (Scan) is parallel and ordered: chunks of whole lines are decoded
// on every core, each line first checked by a fast path (byte search for
// literals a match must contain) and only then parsed, and results are
// written in input order with bounded memory. Sources may be plain, gzip or
// zstd, recognised by their first bytes; Order sorts a rotated set oldest
// first with the live log last.
//
// Keeping (Archive) rotates the live log, makes Vault reopen it, compresses
// the closed file with zstd, checks the copy decodes to the same bytes
// before removing the original, and expires archives past retention to a
// cold directory or deletes them.
package auditlog
