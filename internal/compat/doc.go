// Package compat holds dbaasd's compatibility suite: tests that play the
// official clients of the Managed Databases API against a real dbaasd
// with real engines.
//
// They use the clients' own code where it can be had: the Go SDK
// github.com/selectel/dbaas-go at v0.18.0, the version the Terraform
// provider selectel/selectel 8.3 builds with, and gophercloud, which the
// SDK and the provider's go-selvpcclient log in with. The provider itself
// cannot be built here: the Go module proxy serves no version of its
// module (github.com/terraform-providers/terraform-provider-selectel) and
// its registry is out of reach, so a Terraform or OpenTofu binary would
// have nothing to drive. The suite therefore replays the provider from its
// source:
//
//   - client_test.go: its login per project, catalog and region checks;
//   - provider_test.go: every DBaaS resource and data source as its CRUD
//     functions are written — the same SDK calls with the same options,
//     the same waiters (wait for ACTIVE, fail on any status but
//     PENDING_CREATE, PENDING_UPDATE and RESIZING; after a delete, wait
//     for 404), and a Read that compares every attribute it keeps in state
//     with the configuration, so that drift fails a test;
//   - terraform_test.go: Terraform's walk of a configuration's graph —
//     a node starts as soon as what it refers to is done (on destroy, as
//     soon as what refers to it is gone), ten at a time — so independent
//     resources, such as a datastore's firewall and its users, are sent
//     at the same moment, as for a user of the provider;
//   - configurations_test.go: the natural configuration of each engine
//     (PostgreSQL, MySQL on Galera and native, Redis, Kafka) applied,
//     planned, changed in place, planned again and destroyed.
//
// The waiters poll every 250 ms where the provider waits 10 s and then
// polls every 10 to 20 s; nothing else is shortened.
//
// The package has no code of its own besides this comment.
package compat
