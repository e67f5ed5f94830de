// Package rie starts and stops AWS's own Lambda Runtime Interface Emulator (the Go module
// github.com/aws/aws-lambda-runtime-interface-emulator, command aws-lambda-rie, pinned as a tool in
// go.mod) for tests, the way package motoserver starts moto_server: on free loopback ports, one
// process per [Emulator], stopped by [Emulator.Stop].
//
// The emulator is the one `sam local invoke` and Lambda container images run. It knows two models:
// the default one (one invocation at a time), and Lambda Managed Instances, which it runs when
// AWS_LAMBDA_MAX_CONCURRENCY is set in its environment. It reads fixed paths: external extensions
// from /opt/extensions in both models; on Lambda Managed Instances the runtime from
// /var/runtime/bootstrap (or /var/task/bootstrap, /opt/bootstrap) with /var/task as its working
// directory. So that two test runs on one machine never see each other's files there, and so that
// nothing is written to those paths on the host, each Emulator runs in a private mount namespace in
// which /opt and /var are overlays on a private tmpfs and /opt/extensions, /var/runtime and /var/task
// are the Emulator's own directories. That needs root, or unprivileged user namespaces; without
// either, [Start] fails with an error that says so (never a skip).
package rie
