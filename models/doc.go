// Package models holds remoteidv's domain: typed identifiers, accounts, staff
// and roles, cases and their state machine, checks, evidence, audit events,
// error kinds, and the interfaces that storage, evidence stores and other
// adapters implement. It imports nothing else of this module, so every other
// package can depend on it without cycles.
package models
