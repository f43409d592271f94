//go:build race

package integration

// raceEnabled builds pkfs with the race detector when the tests run with it.
const raceEnabled = true
