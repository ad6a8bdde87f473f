// Package ledger holds the few types every capability module shares: the
// execution context a transaction runs in (block height and time, the state
// it may read and write, the signer), coded errors, and identifiers.
//
// Nothing here reads the wall clock, randomness or the network: a module is a
// pure function of the block and the state, so every node reaches the same
// app hash from the same blocks.
package ledger
