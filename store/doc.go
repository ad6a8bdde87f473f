// Package store keeps the ledger state in Pebble under an IAVL Merkle tree,
// so the app hash commits to every entry and any single entry can be proven
// later with an ICS23 proof (SPEC F14). It also keeps a small side index
// (transaction results) beside the tree, outside the app hash.
//
// A storage failure while executing or committing a block is fatal to the
// caller: continuing would fork the node.
package store
