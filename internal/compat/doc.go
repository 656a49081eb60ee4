// Package compat holds dbaasd's compatibility suite: tests that play the
// official clients of the Managed Databases API against a real dbaasd
// with real engines. They use the clients' own code where it can be had
// (the Go SDK github.com/selectel/dbaas-go and gophercloud, which the SDK
// and the Terraform provider's go-selvpcclient log in with) and mirror the
// Terraform provider's behaviour on top of it: its login per project, its
// catalog and region checks, its request bodies, its polling rules (wait
// for ACTIVE, fail on any other status than PENDING_CREATE,
// PENDING_UPDATE and RESIZING; after a delete, wait for 404) and its
// read-back of every field it keeps in state, which must equal what it
// sent.
//
// The package has no code of its own besides this comment.
package compat
