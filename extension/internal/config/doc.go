// Package config reads the extension's configuration from the environment once, into a validated
// Config. Every problem is reported at once, each naming its variable and what a valid value looks
// like, so that the extension can fail its init with one clear message.
package config
