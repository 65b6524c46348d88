package plugin

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/pflag"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"sigs.k8s.io/yaml"

	"github.com/podtask-dev/kubectl-podtask/pkg/launch"
	"github.com/podtask-dev/kubectl-podtask/pkg/tui"
)

// followFlags are the output flags shared by run and attach.
type followFlags struct {
	output        string
	xcomOut       string
	quiet         bool
	tui           bool
	logFile       string
	containerLogs []string
	initLogs      bool
	maxLogLines   int
}

func (f *followFlags) addFlags(fs *pflag.FlagSet) {
	fs.StringVarP(&f.output, "output", "o", "", "Print a summary of the run (pod, phase, exit code, timings, xcom) to stdout: json or yaml. Logs then go to stderr")
	fs.StringVar(&f.xcomOut, "xcom-out", "", "Write the XCom result to this file, or '-' for stdout (logs then go to stderr)")
	fs.BoolVarP(&f.quiet, "quiet", "q", false, "Print only logs, warnings and errors; no progress")
	fs.BoolVar(&f.tui, "tui", false, "Show the task live in a terminal UI (falls back to plain output when stdout is not a terminal)")
	fs.StringVar(&f.logFile, "log-file", "", "Also write every log line, with the kubelet's timestamp and its container, to this file")
	fs.StringSliceVar(&f.containerLogs, "container-logs", nil, "Stream these containers' logs too ('all' for every container); lines are prefixed with [container]")
	fs.BoolVar(&f.initLogs, "init-logs", false, "Stream init containers' logs too")
	fs.IntVar(&f.maxLogLines, "tui-max-log-lines", tui.DefaultMaxLogLines, "Number of log lines the terminal UI keeps in memory (older ones are dropped from the view, not from --log-file)")
}

func (f *followFlags) validate() error {
	switch f.output {
	case "", "json", "yaml":
	default:
		return &ExitError{Code: ExitUsage, Err: fmt.Errorf("--output %q is not supported: use json or yaml", f.output)}
	}
	if f.output != "" && f.xcomOut == "-" {
		return &ExitError{Code: ExitUsage, Err: errors.New("--output and --xcom-out=- both want stdout: write the XCom to a file with --xcom-out FILE, or read it from the summary's xcom field")}
	}
	if f.maxLogLines < 100 {
		return &ExitError{Code: ExitUsage, Err: fmt.Errorf("--tui-max-log-lines %d is too small: use at least 100", f.maxLogLines)}
	}
	if f.xcomOut != "" && f.xcomOut != "-" {
		if err := checkWritable(f.xcomOut); err != nil {
			return &ExitError{Code: ExitUsage, Err: fmt.Errorf("--xcom-out %s cannot be written (%v): name a file in a folder that exists and that you may write to", f.xcomOut, errors.Unwrap(err))}
		}
	}
	return nil
}

// checkWritable makes sure path can be written, before the task runs: it is
// opened for writing (and removed again if it did not exist).
func checkWritable(path string) error {
	_, statErr := os.Stat(path)
	file, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE, 0o644)
	if err != nil {
		return err
	}
	file.Close()
	if os.IsNotExist(statErr) {
		os.Remove(path)
	}
	return nil
}

// impliedXCom: --xcom-out asks for the result, so it turns XCom on (sidecar
// mode) unless --xcom-mode, --xcom or the task file says how.
func (f *followFlags) impliedXCom(task *taskFlags, _ *pflag.FlagSet) {
	task.xcomWanted = f.xcomOut != ""
}

// apply copies the log selection into the engine options.
func (f *followFlags) apply(o *launch.Options) {
	for _, c := range f.containerLogs {
		if c == "all" {
			c = "*"
		}
		o.LogContainers = append(o.LogContainers, c)
	}
	o.InitLogs = f.initLogs
	// The log file keeps the kubelet's timestamp of every line.
	o.LogTimestamps = f.logFile != ""
}

// follow runs engine under signal handling, with the plain printer or the
// TUI, then prints the outcome and maps it to the exit code.
func (f *followFlags) follow(ctx context.Context, streams genericiooptions.IOStreams, opts launch.Options, topts tui.Options,
	engine func(ctx context.Context, opts launch.Options) (*launch.Result, error)) error {

	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)

	var logFile *os.File
	if f.logFile != "" {
		var err error
		if logFile, err = os.Create(f.logFile); err != nil {
			return &ExitError{Code: ExitUsage, Err: fmt.Errorf("--log-file: %w", err)}
		}
		defer logFile.Close()
	}

	useTUI := f.screenWanted(streams)

	// Logs go to stdout unless stdout is taken by a machine-readable result.
	logOut, progress := streams.Out, streams.ErrOut
	if f.output != "" || f.xcomOut == "-" {
		logOut = streams.ErrOut
	}
	if useTUI {
		// The screen owns the terminal: the printer only keeps the --log-file copy.
		logOut, progress = io.Discard, io.Discard
	}
	prefix := len(f.containerLogs) > 0 || f.initLogs
	p := newPrinter(logOut, progress, f.quiet, prefix, fileOrNil(logFile))
	defer p.flush()

	stopSignals := handleSignals(&signalHandler{cancel: cancel, flush: p.flush, exit: os.Exit, first: func() {
		if !useTUI {
			fmt.Fprintln(streams.ErrOut, "podtask: interrupted: cleaning up (press Ctrl-C again to leave at once)")
		}
	}})
	defer stopSignals()

	var res *launch.Result
	var err error
	if useTUI {
		topts.Stop = cancel
		topts.MaxLogLines = f.maxLogLines
		res, err = runWithTUI(ctx, streams, topts, func(ctx context.Context, sink launch.Sink) (*launch.Result, error) {
			opts.Sink = func(ev launch.Event) {
				if _, ok := ev.(*launch.LogLine); ok && logFile != nil {
					p.handle(ev) // the printer writes the --log-file copy
				}
				sink(ev)
			}
			return engine(ctx, opts)
		})
		// The printer saw only log lines: record the XCom for the output below.
		if res != nil && res.HasXCom {
			p.xcom = &launch.XComResult{Present: true, Value: res.XCom}
		}
	} else {
		opts.Sink = p.handle
		res, err = engine(ctx, opts)
	}
	p.flush()
	return f.report(streams, p, res, err, useTUI)
}

func fileOrNil(f *os.File) io.Writer {
	if f == nil {
		return nil
	}
	return f
}

// report prints the outcome and returns the error that carries the exit code.
func (f *followFlags) report(streams genericiooptions.IOStreams, p *printer, res *launch.Result, err error, usedTUI bool) error {
	if res != nil {
		if res.HasXCom {
			switch f.xcomOut {
			case "-":
				fmt.Fprintln(streams.Out, string(res.XCom))
			case "":
				if f.output == "" && !usedTUI {
					fmt.Fprintf(streams.ErrOut, "podtask: xcom result:\n%s\n", prettyJSON(res.XCom))
				}
			default:
				if werr := os.WriteFile(f.xcomOut, append(append([]byte{}, res.XCom...), '\n'), 0o644); werr != nil {
					// The result is never lost: it goes to stderr instead.
					fmt.Fprintf(streams.ErrOut, "podtask: could not write the xcom result to %s; here it is:\n%s\n", f.xcomOut, string(res.XCom))
					return &ExitError{Code: ExitXCom, Err: fmt.Errorf("--xcom-out: %w (the result was printed on stderr)", werr)}
				}
			}
		} else if p.xcom != nil && !p.xcom.Present && !f.quiet {
			fmt.Fprintln(streams.ErrOut, "podtask: xcom: the task wrote no result (/airflow/xcom/return.json missing or empty)")
		}
		switch f.output {
		case "json":
			b, _ := json.MarshalIndent(res, "", "  ")
			fmt.Fprintln(streams.Out, string(b))
		case "yaml":
			b, _ := yaml.Marshal(res)
			fmt.Fprint(streams.Out, string(b))
		}
	}
	return exitFor(res, err)
}

// exitFor maps the engine's outcome to the process exit code.
func exitFor(res *launch.Result, err error) error {
	var se *launch.StartError
	var xe *launch.XComError
	var ae *launch.APIError
	var te *launch.TransferError
	var de *launch.DeletedError
	switch {
	case errors.Is(err, launch.ErrInterrupted):
		return &ExitError{Code: ExitInterrupted}
	case errors.As(err, &se):
		msg := se.Error()
		if n := len(se.Events); n > 0 {
			msg += " (last warning: " + oneLine(se.Events[n-1]) + ")"
		}
		return &ExitError{Code: ExitStartup, Err: errors.New(msg)}
	case errors.As(err, &xe):
		if res != nil && res.ExitCode != nil && *res.ExitCode != 0 {
			// The task failed anyway: its exit code says more, the error still shows.
			return &ExitError{Code: int(*res.ExitCode), Err: err}
		}
		return &ExitError{Code: ExitXCom, Err: err}
	case errors.As(err, &te):
		if res != nil && res.ExitCode != nil && *res.ExitCode != 0 {
			return &ExitError{Code: int(*res.ExitCode), Err: err}
		}
		return &ExitError{Code: ExitTransfer, Err: err}
	case errors.As(err, &de):
		// Not an API error: the task lost its pod to someone else.
		return &ExitError{Code: ExitTaskFailed, Err: err}
	case errors.As(err, &ae):
		return &ExitError{Code: ExitAPI, Err: err}
	case err != nil:
		return &ExitError{Code: ExitAPI, Err: err}
	}
	if res == nil {
		return nil
	}
	if res.ExitCode != nil {
		if *res.ExitCode == 0 && res.Outcome == launch.OutcomeSucceeded {
			return nil
		}
		return &ExitError{Code: int(*res.ExitCode)}
	}
	if res.Outcome == launch.OutcomeFailed {
		return &ExitError{Code: ExitTaskFailed, Err: errors.New(strings.TrimSpace("the task failed: " + res.Reason + " " + res.Message))}
	}
	return nil
}
