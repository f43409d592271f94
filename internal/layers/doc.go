// Package layers enforces the architecture of DESIGN.md: its test fails when
// a package of the module imports a package of a higher layer, or when a
// package other than internal/cryptocore imports a cipher implementation.
// It holds no code; the rules and the table of ranks are in layers_test.go.
package layers
