// Package app is Primum's ABCI 2.0 application: the transaction envelope and
// its checks (size, decoding, chain, signature, replay), routing to the
// capability modules with the permission check in one place, the block
// lifecycle, and the app hash.
//
// Execution reads only the block and the state: no wall clock, randomness,
// map order or floating point, so every node reaches the same app hash.
package app
