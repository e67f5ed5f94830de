//go:build race

package underrie

const raceEnabled = true
