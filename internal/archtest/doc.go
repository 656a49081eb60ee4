// Package archtest holds the test that guards the import rules of
// docs/architecture.md: which layer may depend on which. It has no code
// of its own.
package archtest
