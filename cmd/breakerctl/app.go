package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"

	"github.com/breakerbox/breakerbox/internal/circuit"
	"github.com/breakerbox/breakerbox/internal/events"
	"github.com/breakerbox/breakerbox/internal/store"
)

// Env is what breakerctl takes from its surroundings, so tests can run it in-process.
type Env struct {
	// Getenv reads an environment variable.
	Getenv func(string) string
	// AWS loads the SDK configuration (credentials, region, endpoints).
	AWS func(ctx context.Context) (aws.Config, error)
}

// Exit codes.
const (
	exitOK    = 0
	exitError = 1
	exitUsage = 2
)

// usageError is a mistake in the command line; it exits 2 and points at the help.
type usageError struct{ msg string }

// Error returns the message, which says what to do.
func (e *usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error { return &usageError{msg: fmt.Sprintf(format, args...)} }

// app is one run of breakerctl: its streams, environment and the flags every command takes.
type app struct {
	stdout, stderr io.Writer
	env            Env
	table          string
	output         string
	awsTimeout     time.Duration
	bus            string
	awsCfg         *aws.Config
	// globals are the flags given before the command; parse reads them before the command's own,
	// so a flag after the command wins over the same flag before it.
	globals []string
	// repeatable names the command's flags that may be given more than once (monitor add's
	// --header); any other flag given twice is a usage error.
	repeatable map[string]bool
}

// command is one subcommand.
type command struct {
	name string
	run  func(ctx context.Context, a *app, args []string) error
}

func commands() []command {
	return []command{
		{"circuits", runCircuits},
		{"get", runGet},
		{"force-open", runForce("force-open")},
		{"force-closed", runForce("force-closed")},
		{"clear", runForce("clear")},
		{"watch", runWatch},
		{"policy", runPolicy},
		{"monitor", runMonitor},
		{"create-table", runCreateTable},
	}
}

const usage = `breakerctl operates breakerbox circuits and the checker's monitors.

Usage:
  breakerctl circuits                          list every circuit
  breakerctl get ID                            show one circuit
  breakerctl force-open ID --reason TEXT       pin a circuit OPEN until cleared
  breakerctl force-closed ID [--reason TEXT]   pin a circuit CLOSED until cleared
  breakerctl clear ID [--reason TEXT]          remove an override; the circuit starts again CLOSED
                                               (an id not in the table is an error)
  breakerctl watch [--interval 1s]             print transitions as they happen (Ctrl-C stops)
  breakerctl policy show ID                    the circuit's own policy: knobs over the BREAKERBOX_* variables
  breakerctl policy set ID KEY=VALUE...        set knobs of one circuit (checked as the model checks
                                               them; creates the circuit CLOSED if it is new)
  breakerctl policy clear ID [KEY...]          remove the named knobs, or the whole own policy
  breakerctl monitor add --id ID --url URL [--every 1m] [--timeout 4s] [--method GET]
                         [--expect-status 200-399] [--slow-call 1s] [--header 'Name: value']...
                         [--follow-redirects] [--checker-arn ARN]
                                               probe URL on a schedule with the checker Lambda
  breakerctl monitor list                      list the monitors (rules named breakerbox-* that run the checker)
  breakerctl monitor remove ID                 delete a monitor's rule and target
  breakerctl create-table                      create the table (for local use; safe to repeat)

Flags of every command (before or after it: breakerctl --table x circuits):
  --table NAME       the breakerbox DynamoDB table (default $BREAKERBOX_TABLE)
  -o table|json      output: aligned tables for people (default) or JSON for scripts
  --aws-timeout D    bound on each AWS call (default 10s)
  --bus NAME         event bus for state-change events (default $BREAKERBOX_EVENT_BUS or "default")

policy keys: %s.
monitor add takes the checker's ARN from --checker-arn or $BREAKERBOX_CHECKER_ARN.
AWS credentials, region and endpoint come from the SDK's standard settings
(AWS_PROFILE, AWS_REGION, AWS_ENDPOINT_URL, ...).
Exit status: 0 done, 1 failed, 2 a mistake in the command line (nothing written).
`

// run is breakerctl's whole life: it parses args, runs the command and returns the exit code.
func run(ctx context.Context, args []string, stdout, stderr io.Writer, env Env) int {
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		w := stdout
		code := exitOK
		if len(args) == 0 {
			w, code = stderr, exitUsage
		}
		printUsage(w)
		return code
	}
	a := &app{stdout: stdout, stderr: stderr, env: env}
	globals, args, err := splitGlobals(args)
	a.globals = globals
	if errors.Is(err, flag.ErrHelp) || (err == nil && (args[0] == "help" || args[0] == "-h" || args[0] == "--help")) {
		printUsage(stdout) // breakerctl --table x help
		return exitOK
	}
	if err != nil {
		fmt.Fprintf(stderr, "breakerctl: %v\nRun 'breakerctl help' for usage.\n", err)
		return exitUsage
	}
	for _, c := range commands() {
		if c.name != args[0] {
			continue
		}
		err := c.run(ctx, a, args[1:])
		var ue *usageError
		switch {
		case err == nil:
			return exitOK
		case errors.Is(err, flag.ErrHelp):
			return exitOK
		case errors.As(err, &ue):
			fmt.Fprintf(stderr, "breakerctl %s: %v\nRun 'breakerctl help' for usage.\n", c.name, err)
			return exitUsage
		default:
			fmt.Fprintf(stderr, "breakerctl %s: %v\n", c.name, a.explain(err))
			return exitError
		}
	}
	fmt.Fprintf(stderr, "breakerctl: unknown command %q\nRun 'breakerctl help' for usage.\n", args[0])
	return exitUsage
}

func printUsage(w io.Writer) { fmt.Fprintf(w, usage, strings.Join(circuit.OverrideKeys(), ", ")) }

// groupHelp answers -h after a command that takes a subcommand (policy, monitor) with the usage,
// and a flag in the subcommand's place with where flags go.
func (a *app) groupHelp(cmd, need, example string, args []string) error {
	switch {
	case len(args) == 0:
		return usagef("%s needs %s", cmd, need)
	case args[0] == "-h" || args[0] == "-help" || args[0] == "--help":
		printUsage(a.stdout)
		return flag.ErrHelp
	case strings.HasPrefix(args[0], "-"):
		return usagef("%s needs %s before any flag, e.g. %s", cmd, need, example)
	}
	return nil
}

// splitGlobals lets the flags every command takes come before the command too
// (breakerctl --table x circuits): it returns them apart, and parse reads them before the
// command's own arguments, so they reach policy's and monitor's subcommands as well. A command's
// own flag before the command is a usage error that says where it goes.
func splitGlobals(args []string) (globals, rest []string, err error) {
	if len(args) == 0 || !strings.HasPrefix(args[0], "-") {
		return nil, args, nil
	}
	fs := flag.NewFlagSet("breakerctl", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	for _, name := range []string{"table", "o", "output", "aws-timeout", "bus"} {
		fs.String(name, "", "")
	}
	if err := fs.Parse(args); errors.Is(err, flag.ErrHelp) {
		return nil, nil, err
	} else if err != nil && strings.HasPrefix(err.Error(), "flag provided but not defined") {
		return nil, nil, fmt.Errorf("%v before the command: only --table, -o, --aws-timeout and --bus may come before it; put a command's own flags after it, e.g. breakerctl force-open ID --reason TEXT", err)
	} else if err != nil {
		return nil, nil, fmt.Errorf("%v (before the command)", err)
	}
	rest = fs.Args()
	if len(rest) == 0 {
		return nil, nil, fmt.Errorf("no command after %s: e.g. breakerctl %s circuits", strings.Join(args, " "), strings.Join(args, " "))
	}
	return args[:len(args)-len(rest)], rest, nil
}

// flags returns a flag set with the flags every command takes.
func (a *app) flags(name string) *flag.FlagSet {
	fs := flag.NewFlagSet("breakerctl "+name, flag.ContinueOnError)
	// The flag package would print each mistake, then every flag's help, before run prints the
	// mistake again: run says it once, and -h prints the flags (parse).
	fs.SetOutput(io.Discard)
	fs.StringVar(&a.table, "table", a.env.Getenv("BREAKERBOX_TABLE"), "the breakerbox DynamoDB table")
	fs.StringVar(&a.output, "o", "table", "output format: table or json")
	fs.StringVar(&a.output, "output", "table", "output format: table or json")
	durationVar(fs, &a.awsTimeout, "aws-timeout", 10*time.Second, "bound on each AWS call, a `duration` (10s, 1m)")
	bus := a.env.Getenv("BREAKERBOX_EVENT_BUS")
	if bus == "" {
		bus = events.DefaultBus
	}
	fs.StringVar(&a.bus, "bus", bus, "event bus for state-change events")
	return fs
}

// parse parses flags that may come before, between or after the positional arguments, and checks
// the common ones. It returns the positional arguments.
func (a *app) parse(fs *flag.FlagSet, args []string) ([]string, error) {
	// Twice before the command, or twice after it, is a mistake; once before and once after, the
	// one after wins (an alias may carry defaults).
	if err := a.once(fs, a.globals); err != nil {
		return nil, err
	}
	if err := a.once(fs, args); err != nil {
		return nil, err
	}
	args = append(append([]string{}, a.globals...), args...)
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				fs.SetOutput(a.stderr)
				fmt.Fprintf(a.stderr, "Usage of %s (and 'breakerctl help'):\n", fs.Name())
				fs.PrintDefaults()
				return nil, err
			}
			if name, ok := strings.CutPrefix(err.Error(), "flag provided but not defined: "); ok {
				return nil, usagef("unknown flag %s: '%s -h' lists this command's flags", name, fs.Name())
			}
			return nil, &usageError{msg: err.Error()}
		}
		args = fs.Args()
		if len(args) == 0 {
			break
		}
		pos, args = append(pos, args[0]), args[1:]
	}
	switch a.output {
	case "table", "json":
	default:
		return nil, usagef("-o %q: want table or json", a.output)
	}
	if a.awsTimeout <= 0 {
		return nil, usagef("--aws-timeout must be positive")
	}
	return pos, nil
}

// once refuses a flag given twice: the flag package keeps the last value without a word, so
// "monitor add --id x ... --id y" would quietly create the monitor of y. -o and --output are one
// flag. It reads args as fs.Parse will (a flag's value may be the next argument; "--" makes the
// argument after it positional, as parse's loop has it), leaving every other mistake to fs.Parse.
func (a *app) once(fs *flag.FlagSet, args []string) error {
	seen := map[string]string{}
	for i := 0; i < len(args); i++ {
		arg := args[i]
		if arg == "--" {
			i++
			continue
		}
		if len(arg) < 2 || arg[0] != '-' {
			continue
		}
		name, _, hasValue := strings.Cut(strings.TrimPrefix(arg[1:], "-"), "=")
		f := fs.Lookup(name)
		if f == nil {
			continue // fs.Parse says it is not defined
		}
		given := arg
		if b, ok := f.Value.(interface{ IsBoolFlag() bool }); !hasValue && !(ok && b.IsBoolFlag()) && i+1 < len(args) {
			i++
			given += " " + args[i]
		}
		if a.repeatable[name] {
			continue
		}
		key := name
		if key == "output" {
			key = "o"
		}
		if prev, dup := seen[key]; dup {
			return usagef("%s given twice (%s, then %s): give each flag once", arg, prev, given)
		}
		seen[key] = given
	}
	return nil
}

// durationValue is a duration flag whose error says what a duration looks like (the flag
// package's own says only "parse error").
type durationValue struct{ p *time.Duration }

func (d durationValue) Set(s string) error {
	v, err := time.ParseDuration(s)
	if err != nil {
		return errors.New("not a duration: write it as Go does, with its unit, e.g. 10s, 500ms or 2m")
	}
	*d.p = v
	return nil
}

func (d durationValue) String() string {
	if d.p == nil {
		return ""
	}
	return d.p.String()
}

// durationVar defines a duration flag with durationValue's errors.
func durationVar(fs *flag.FlagSet, p *time.Duration, name string, value time.Duration, usage string) {
	*p = value
	fs.Var(durationValue{p}, name, usage)
}

// oneID returns the single positional argument, the circuit id.
func oneID(pos []string, cmd string) (string, error) {
	if len(pos) != 1 {
		return "", usagef("want exactly one circuit id, e.g. breakerctl %s inventory; got %d arguments", cmd, len(pos))
	}
	return pos[0], nil
}

func (a *app) aws(ctx context.Context) (aws.Config, error) {
	if a.awsCfg != nil {
		return *a.awsCfg, nil
	}
	ctx, cancel := context.WithTimeout(ctx, a.awsTimeout)
	defer cancel()
	cfg, err := a.env.AWS(ctx)
	if err != nil {
		return aws.Config{}, fmt.Errorf("load AWS configuration: %w (set AWS_PROFILE or AWS_REGION and credentials)", err)
	}
	a.awsCfg = &cfg // endpoint() reads it
	cfg.Logger = sdkLogger{w: a.stderr, local: a.endpoint() != ""}
	if err := a.checkAWS(ctx, cfg); err != nil {
		a.awsCfg = nil
		return aws.Config{}, err
	}
	return cfg, nil
}

// dynamo returns a DynamoDB client; store returns the store on the chosen table.
func (a *app) dynamo(ctx context.Context) (*dynamodb.Client, error) {
	if strings.TrimSpace(a.table) == "" {
		return nil, usagef("no table: pass --table NAME or set BREAKERBOX_TABLE")
	}
	cfg, err := a.aws(ctx)
	if err != nil {
		return nil, err
	}
	return dynamodb.NewFromConfig(cfg), nil
}

func (a *app) store(ctx context.Context) (*store.Store, error) {
	db, err := a.dynamo(ctx)
	if err != nil {
		return nil, err
	}
	return store.New(db, a.table, store.Options{Timeout: a.awsTimeout}), nil
}

func (a *app) eventBridge(ctx context.Context) (*eventbridge.Client, error) {
	cfg, err := a.aws(ctx)
	if err != nil {
		return nil, err
	}
	return eventbridge.NewFromConfig(cfg), nil
}

// warnf writes a warning to stderr.
func (a *app) warnf(format string, args ...any) {
	fmt.Fprintf(a.stderr, "warning: "+format+"\n", args...)
}
