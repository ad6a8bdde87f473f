// Package store keeps the ledger state in Pebble: every key's newest value
// (the flat index) under a Merkle commitment whose root is the app hash
// (commitment.go), so that any single entry, or its absence, can be proven
// with an ICS23 proof (SPEC F14). It also keeps a small side index
// (transaction results) beside the state, outside the app hash.
//
// A storage failure while executing or committing a block is fatal to the
// caller: continuing would fork the node.
package store
