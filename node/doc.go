// Package node runs one Primum node: CometBFT embedded in-process with the
// Primum application, and the REST API and web interface beside it. It also
// lays out node homes (init, testnet, demo).
package node
