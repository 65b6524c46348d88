// Command bench measures kubectl-podtask against kubectl on the local
// cluster, side by side in one run, and writes bench/RESULTS.md.
//
//	go run ./bench            # or: make bench
//	go run ./bench -n 5 -quick
//
// It builds the plugin with `make build`, brings the local cluster up with
// `make cluster` (reused when healthy), then runs the measurements P1–P6
// described in RESULTS.md.
package main

import (
	"context"
	"crypto/rand"
	"debug/elf"
	"encoding/hex"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	corev1client "k8s.io/client-go/kubernetes/typed/core/v1"
	"k8s.io/client-go/tools/clientcmd"
)

const image = "busybox:1.35"

type bench struct {
	root       string
	clusterDir string
	kubeconfig string
	kubectl    string
	plugin     string // private copy of bin/kubectl-podtask
	env        []string
	id         string

	n      int // P1 rounds
	nStart int // P4 pairs
	nLogs  int // P6 rounds
	long   time.Duration
	only   string

	pluginFrom string

	core    corev1client.CoreV1Interface
	w       *podWatcher
	rows    []row
	details []string
	started time.Time
}

type row struct {
	Metric, Podtask, Kubectl, Ratio, Goal, Holds, N string
}

func main() {
	b := &bench{}
	flag.IntVar(&b.n, "n", 10, "P1 rounds (each runs every podtask variant once and kubectl run twice)")
	flag.IntVar(&b.nStart, "n-startup", 20, "P4 pairs")
	flag.IntVar(&b.nLogs, "n-logs", 5, "P6 rounds (each races attach and run against kubectl logs -f)")
	flag.DurationVar(&b.long, "long", 60*time.Second, "P3 long task duration")
	out := flag.String("out", "bench/RESULTS.md", "report file")
	flag.StringVar(&b.pluginFrom, "plugin", "", "measure this plugin binary instead of running make build (to try a change; RESULTS.md is from make build)")
	flag.StringVar(&b.only, "only", "", "run only these steps, e.g. P1,P6 (for trying; RESULTS.md needs them all)")
	flag.Parse()
	if err := b.main(*out); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func (b *bench) logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "bench: %s "+format+"\n", append([]any{time.Since(b.started).Round(time.Second)}, args...)...)
}

func (b *bench) main(out string) error {
	b.started = time.Now()
	ctx := context.Background()
	if err := b.setup(ctx); err != nil {
		return err
	}
	steps := []struct {
		name string
		fn   func(context.Context) error
	}{
		{"P0 overhead above the cluster's floor", b.p0Overhead},
		{"P5 binary size", b.p5Size},
		{"P4 start-up", b.p4Startup},
		{"P1/P2 trivial task and completion latency", b.p1Trivial},
		{"P3 API requests", b.p3Requests},
		{"P6 log throughput and TUI memory", b.p6Logs},
		{"P7 interactive: prompt, keystrokes, stdin", b.p7Interactive},
		{"P8 render --dag", b.p8DAG},
		{"P9 mapped run", b.p9Mapped},
		{"P10 files in and out", b.p10Files},
		{"P11 Job", b.p11Job},
	}
	for _, s := range steps {
		if b.only != "" && !strings.Contains(","+b.only+",", ","+strings.SplitN(s.name, " ", 2)[0]+",") &&
			!strings.Contains(","+b.only+",", ","+strings.SplitN(s.name, "/", 2)[0]+",") {
			continue
		}
		b.logf("%s", s.name)
		rows, details := len(b.rows), len(b.details)
		err := s.fn(ctx)
		if err != nil {
			// The cluster is shared and may have been restarted meanwhile:
			// bring it up again and retry the step once.
			b.logf("%s failed: %v; make cluster, then once more", s.name, err)
			b.rows, b.details = b.rows[:rows], b.details[:details]
			if cerr := b.cluster(ctx); cerr != nil {
				return cerr
			}
			b.id += "r" // fresh pod names: the watch remembers the old ones
			err = s.fn(ctx)
		}
		if err != nil {
			b.logf("%s failed: %v", s.name, err)
			b.rows = append(b.rows, row{Metric: s.name, Podtask: "error: " + oneLine(err.Error()), Holds: "no"})
		}
	}
	b.logf("writing %s", out)
	return os.WriteFile(filepath.Join(b.root, out), []byte(b.report()), 0o644)
}

func (b *bench) setup(ctx context.Context) error {
	var err error
	if b.root, err = os.Getwd(); err != nil {
		return err
	}
	if mod, err := os.ReadFile(filepath.Join(b.root, "go.mod")); err != nil || !strings.Contains(string(mod), "module github.com/podtask-dev/kubectl-podtask") {
		return fmt.Errorf("run from the repository root (go run ./bench, or make bench)")
	}
	var rnd [3]byte
	_, _ = rand.Read(rnd[:])
	b.id = "bench-" + hex.EncodeToString(rnd[:])

	b.clusterDir = os.Getenv("PODTASK_CLUSTER_DIR")
	if b.clusterDir == "" {
		b.clusterDir = "/tmp/podtask-cluster"
	}
	b.kubeconfig = filepath.Join(b.clusterDir, "kubeconfig")
	b.kubectl = filepath.Join(b.clusterDir, "bin", "kubectl")

	if b.pluginFrom != "" {
		b.plugin = filepath.Join(b.root, "bench", "out", "kubectl-podtask")
		if err := os.MkdirAll(filepath.Dir(b.plugin), 0o755); err != nil {
			return err
		}
		if err := copyFile(b.pluginFrom, b.plugin); err != nil {
			return err
		}
	} else {
		b.logf("make build")
		if err := b.buildPlugin(ctx); err != nil {
			return err
		}
	}
	if err := b.cluster(ctx); err != nil {
		return err
	}
	// The plugin's private copy comes first on PATH so that `kubectl podtask` finds it.
	b.env = []string{"KUBECONFIG=" + b.kubeconfig, "PATH=" + filepath.Dir(b.plugin) + ":" + filepath.Dir(b.kubectl) + ":" + os.Getenv("PATH")}
	cfg, err := clientcmd.BuildConfigFromFlags("", b.kubeconfig)
	if err != nil {
		return err
	}
	cfg.UserAgent = "podtask-bench"
	cfg.QPS, cfg.Burst = 50, 100
	if b.core, err = corev1client.NewForConfig(cfg); err != nil {
		return err
	}
	b.w = newPodWatcher(b.core.Pods("default"))
	return b.w.start(ctx)
}

// cluster runs `make cluster`, three times at most: the cluster is shared,
// and a start or stop by someone else at the same moment makes it fail.
func (b *bench) cluster(ctx context.Context) error {
	var err error
	for try := 0; try < 3; try++ {
		b.logf("make cluster")
		if _, err = mustRun(ctx, proc{Name: "make", Args: []string{"--no-print-directory", "cluster"}, Timeout: 30 * time.Minute}); err == nil {
			return nil
		}
		b.logf("make cluster failed (%s); again in 10 s", oneLine(tail(err.Error(), 300)))
		time.Sleep(10 * time.Second)
	}
	return err
}

// buildPlugin runs `make build` and copies the result aside, so that another
// build of bin/kubectl-podtask during the run changes nothing here. The copy
// must be the stripped static binary `make build` makes.
func (b *bench) buildPlugin(ctx context.Context) error {
	outDir := filepath.Join(b.root, "bench", "out")
	if err := os.MkdirAll(outDir, 0o755); err != nil {
		return err
	}
	b.plugin = filepath.Join(outDir, "kubectl-podtask")
	var last error
	for try := 0; try < 3; try++ {
		if _, err := mustRun(ctx, proc{Name: "make", Args: []string{"--no-print-directory", "build"}, Timeout: 20 * time.Minute}); err != nil {
			return err
		}
		src := filepath.Join(b.root, "bin", "kubectl-podtask")
		if err := copyFile(src, b.plugin+".tmp"); err != nil {
			return err
		}
		if last = checkStripped(b.plugin + ".tmp"); last == nil {
			return os.Rename(b.plugin+".tmp", b.plugin)
		}
		b.logf("bin/kubectl-podtask was replaced by another build (%v); building again", last)
	}
	return last
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o755)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// checkStripped says whether path is a static ELF without symbols or DWARF.
func checkStripped(path string) error {
	f, err := elf.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			return fmt.Errorf("dynamically linked")
		}
	}
	for _, s := range f.Sections {
		if s.Name == ".symtab" || strings.HasPrefix(s.Name, ".debug_") || strings.HasPrefix(s.Name, ".zdebug_") {
			return fmt.Errorf("not stripped (%s)", s.Name)
		}
	}
	return nil
}

// podtask runs the plugin binary itself.
func (b *bench) podtask(args ...string) proc {
	return proc{Name: b.plugin, Args: args, Env: b.env}
}

func (b *bench) kubectlProc(args ...string) proc {
	return proc{Name: b.kubectl, Args: args, Env: b.env}
}

// createdPod finds "pod/NAME created" in the plugin's progress lines.
func createdPod(r *procResult) string {
	if l, ok := r.firstStderr("podtask: pod/"); ok {
		s := strings.TrimPrefix(l.Text[strings.Index(l.Text, "pod/"):], "pod/")
		if i := strings.IndexByte(s, ' '); i > 0 {
			return s[:i]
		}
	}
	return ""
}

func oneLine(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return s
}

func itoa(i int) string { return fmt.Sprint(i) }

func yesNo(ok bool) string {
	if ok {
		return "yes"
	}
	return "**no**"
}

func ratio(a, k float64) string {
	if k == 0 {
		return "—"
	}
	return fmt.Sprintf("%.2f×", a/k)
}

// facts are the machine and versions, for the report.
func (b *bench) facts() []string {
	var f []string
	f = append(f, "Date: "+b.started.UTC().Format("2006-01-02 15:04 MST"))
	if out, err := exec.Command("nproc").Output(); err == nil {
		f = append(f, "CPUs (nproc): "+strings.TrimSpace(string(out)))
	}
	if mi, err := os.ReadFile("/proc/meminfo"); err == nil {
		first := strings.SplitN(string(mi), "\n", 2)[0]
		f = append(f, "Memory: "+strings.Join(strings.Fields(first)[1:], " "))
	}
	if ci, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, l := range strings.Split(string(ci), "\n") {
			if strings.HasPrefix(l, "model name") {
				f = append(f, "CPU: "+strings.TrimSpace(strings.SplitN(l, ":", 2)[1]))
				break
			}
		}
	}
	if out, err := exec.Command("uname", "-sr").Output(); err == nil {
		f = append(f, "Kernel: "+strings.TrimSpace(string(out)))
	}
	if out, err := exec.Command("go", "version").Output(); err == nil {
		f = append(f, "Go: "+strings.TrimSpace(string(out)))
	}
	if out, err := exec.Command(b.plugin, "version", "--client").CombinedOutput(); err == nil {
		f = append(f, "kubectl-podtask: "+oneLine(string(out)))
	}
	if out, err := exec.Command(b.kubectl, "version", "--client").CombinedOutput(); err == nil {
		f = append(f, "kubectl: "+oneLine(string(out)))
	}
	if v, err := b.core.RESTClient().Get().AbsPath("/version").DoRaw(context.Background()); err == nil {
		f = append(f, "Cluster: "+oneLine(string(v)))
	}
	return f
}
