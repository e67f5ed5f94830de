// Package underrie runs the real breakerbox extension binary under AWS's own Lambda Runtime
// Interface Emulator (package internal/rie), the Lambda that `sam local invoke` and container images
// run, in both of its models. That emulator does not freeze, and in its default model it accepts a
// Telemetry API subscription but never delivers an event: the extension must serve every invocation
// without waiting for one. The package holds tests only.
package underrie
