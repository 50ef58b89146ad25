// Package hosttest boots Debian hosts with systemd as PID 1 in
// systemd-nspawn boxes, so that tests run vaultpipe's units, scripts and
// binaries the way a VPS runs them: a cached debootstrap root (Root), a box
// started from a fresh copy of it (Start), commands run inside as root or as
// a user (Box.Exec), files and the journal read back, a reboot on the same
// disk, and a teardown that leaves no process or mount behind (Leftovers).
//
// Boxes use --private-network: each has only its own loopback interface, so
// every box may listen on 127.0.0.1:8200 without meeting the host's (or
// another box's) servers, and no box can reach any other address. Boxes that
// must talk to each other (a raft cluster) share a network namespace the test
// makes (NewNet), again with only a loopback interface, each box on its own
// 127.0.0.x address. The host's network is never used.
// systemd-nspawn runs with --register=no --keep-unit because this machine
// kind has no system bus (nor machined) on the host.
package hosttest
