package plugin

// interactive.go: -i/--stdin, -t/--tty and --detach-keys, shared by run and
// attach: the local stdin goes to the base container's stdin; with -t the
// local terminal becomes the pod's (raw, sized, restored on every way out).

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/pflag"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/podtask-dev/kubectl-podtask/pkg/launch"
	"github.com/podtask-dev/kubectl-podtask/pkg/tui"
)

// interactiveFlags are the flags that connect the local terminal to the task.
type interactiveFlags struct {
	stdin, tty bool
	detachKeys string
	keys       []byte // parsed detachKeys

	// term is the local terminal, made by the first session that needs it
	// and kept for the next (a second session in the same command reads
	// the same input pump).
	term *terminal
}

func (f *interactiveFlags) addFlags(fs *pflag.FlagSet) {
	fs.BoolVarP(&f.stdin, "stdin", "i", false, "Send stdin to the base container's stdin (its end closes it); logs still come from the log stream, from the first line")
	fs.BoolVarP(&f.tty, "tty", "t", false, "With -i: give the base container a terminal and connect it to this one (raw mode, window size); stdin must be a terminal")
	fs.StringVar(&f.detachKeys, "detach-keys", "", "With -it: the key sequence that leaves the pod running and exits 0, e.g. ctrl-p,ctrl-q (off unless given)")
}

// validate checks the flags before anything is sent to the cluster;
// needTerminal is false when the command will not attach (run --detach).
func (f *interactiveFlags) validate(streams genericiooptions.IOStreams, follow *followFlags, needTerminal bool) error {
	usage := func(format string, args ...any) error {
		return &ExitError{Code: ExitUsage, Err: fmt.Errorf(format, args...)}
	}
	switch {
	case f.tty && !f.stdin:
		return usage("-t/--tty needs -i/--stdin: use -it")
	case follow.tui && f.tty:
		return usage("--tui and -t both want the terminal: use one of them")
	case follow.tui && f.stdin:
		return usage("--tui reads the keyboard, -i sends stdin to the pod: use one of them")
	case f.detachKeys != "" && !f.tty:
		return usage("--detach-keys needs a terminal session: use it with -it")
	case f.tty && needTerminal && !isTerminal(streams.In):
		return usage("-t/--tty: stdin is not a terminal; run it from a terminal, or use -i alone to send piped input")
	}
	if f.detachKeys != "" {
		keys, err := parseDetachKeys(f.detachKeys)
		if err != nil {
			return usage("--detach-keys %q: %v", f.detachKeys, err)
		}
		f.keys = keys
	}
	return nil
}

// parseDetachKeys reads docker's notation: comma-separated keys, each a
// single character or ctrl-X (X a letter, or one of @ [ \ ] ^ _).
func parseDetachKeys(s string) ([]byte, error) {
	var out []byte
	for _, k := range strings.Split(s, ",") {
		switch {
		case len(k) == 1:
			out = append(out, k[0])
		case strings.HasPrefix(strings.ToLower(k), "ctrl-") && len(k) == 6:
			c := k[5]
			switch {
			case c >= 'a' && c <= 'z':
				out = append(out, c-'a'+1)
			case c >= 'A' && c <= 'Z':
				out = append(out, c-'A'+1)
			case strings.IndexByte("@[\\]^_", c) >= 0:
				out = append(out, c-'@')
			default:
				return nil, fmt.Errorf("%q: ctrl- takes a letter or one of @ [ \\ ] ^ _", k)
			}
		default:
			return nil, fmt.Errorf("%q: want one character or ctrl-X, comma-separated (e.g. ctrl-p,ctrl-q)", k)
		}
	}
	return out, nil
}

// interactiveEngine is RunInteractive or AttachInteractive bound to its pod.
type interactiveEngine func(ctx context.Context, opts launch.Options, term launch.Terminal) (*launch.Result, error)

// followInteractive follows a task as follow does, with the local terminal
// connected to its base container.
func (f *interactiveFlags) followInteractive(ctx context.Context, streams genericiooptions.IOStreams, follow *followFlags,
	opts launch.Options, topts tui.Options, engine interactiveEngine) error {

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	term := launch.Terminal{In: streams.In, TTY: f.tty, DetachKeys: f.keys}
	if f.tty {
		if f.term == nil {
			t, err := newTerminal(streams.In, streams.Out)
			if err != nil {
				return &ExitError{Code: ExitUsage, Err: fmt.Errorf("-t/--tty: %w", err)}
			}
			f.term = t
		}
		t := f.term
		t.reopen()
		defer t.close()
		stop := t.guard(cancel)
		defer stop()
		term.In, term.Out, term.Sizes, term.Session = t, t.output(streams.Out), t.sizes, t.setRaw
		streams.Out, streams.ErrOut = t.hold(streams.Out), t.hold(streams.ErrOut)
	} else {
		stop := hangupCancels(cancel)
		defer stop()
	}
	return follow.follow(ctx, streams, opts, topts, func(ctx context.Context, opts launch.Options) (*launch.Result, error) {
		res, err := engine(ctx, opts, term)
		if errors.Is(err, launch.ErrDetached) {
			return res, nil
		}
		return res, err
	})
}

// attachInteractive re-attaches to a kept interactive task pod: its base
// container must have a stdin (and, for -t, a terminal).
func (o *AttachOptions) attachInteractive(ctx context.Context, engine *launch.Engine, name string, opts launch.Options, topts tui.Options) error {
	pod, err := engine.Client.Pods(o.namespace).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return &ExitError{Code: ExitAPI, Err: &launch.APIError{Op: "get pod", Err: err}}
	}
	base := launch.OptionsFromPod(pod, opts).BaseContainer
	for _, c := range pod.Spec.Containers {
		if c.Name != base {
			continue
		}
		missing := ""
		switch {
		case !c.Stdin:
			missing = "stdin"
		case o.interactive.tty && !c.TTY:
			missing = "terminal"
		}
		if missing != "" {
			return &ExitError{Code: ExitUsage, Err: fmt.Errorf("%v: attach without -i/-t to follow it", &launch.NotInteractiveError{Pod: name, Container: base, Missing: missing})}
		}
	}
	return o.interactive.followInteractive(ctx, o.streams, &o.follow, opts, topts, func(ctx context.Context, opts launch.Options, term launch.Terminal) (*launch.Result, error) {
		return engine.AttachInteractive(ctx, o.namespace, name, opts, term)
	})
}
