//go:build race

package main

// raceEnabled builds the command under test with -race too, to reuse the test binary's build cache.
const raceEnabled = true
