package main

import (
	"fmt"
	"strings"
	"time"
)

func (b *bench) report() string {
	var s strings.Builder
	p := func(format string, args ...any) { fmt.Fprintf(&s, format+"\n", args...) }
	p("# Benchmarks: kubectl-podtask against kubectl")
	p("")
	p("Written by `make bench` (`go run ./bench`, %s in all). Both tools run side by side, interleaved,", time.Since(b.started).Round(time.Second))
	p("on the local cluster (test/cluster); absolute times drift on this shared machine, the ratios are")
	p("what to compare. Ratio = podtask median / kubectl median. Cells are median (min–max) of N.")
	p("")
	for _, f := range b.facts() {
		p("- %s", f)
	}
	p("")
	p("| Metric | podtask | kubectl | ratio | goal | holds | N |")
	p("|---|---|---|---|---|---|---|")
	for _, r := range b.rows {
		p("| %s | %s | %s | %s | %s | %s | %s |", r.Metric, or(r.Podtask, "—"), or(r.Kubectl, "—"), or(r.Ratio, "—"),
			or(r.Goal, "—"), or(r.Holds, "—"), or(r.N, "—"))
	}
	p("")
	p("## Details")
	p("")
	for _, d := range b.details {
		p("- %s", d)
	}
	p("")
	p("## How each figure is taken")
	p("")
	p("- The plugin is the stripped static binary `make build` writes to bin/kubectl-podtask, copied to")
	p("  bench/out/ (so that another build meanwhile changes nothing) and run directly, as kubectl's plugin")
	p("  dispatch would exec it; the row \"via kubectl's plugin dispatch\" runs `kubectl podtask ...` to show")
	p("  what dispatch adds. kubectl is the cluster's standalone kubectl (same version as the cluster).")
	p("- P0: for %d runs of `kubectl-podtask run --image %s -- echo hi` (and as many of kubectl run --rm -i), the", b.n, image)
	p("  floor is the time from the benchmark's watch first seeing the pod to its seeing the base container")
	p("  terminated; the overhead is the wall time from exec to exit minus that floor. The goal holds on the")
	p("  median; p95 is given beside it.")
	p("- P1: wall time from exec to exit of `kubectl-podtask run --image %s -- echo hi` (with `--xcom`", image)
	p("  and `--xcom-mode=termination-message` the command also writes /airflow/xcom/return.json) against")
	p("  `kubectl run NAME --rm -i --restart=Never --image %s -- echo hi` with stdin attached at EOF.", image)
	p("  Each round runs: podtask, kubectl, podtask --xcom, podtask termination-message, kubectl, podtask via")
	p("  kubectl; every run is checked to print `hi` (and the XCom result). %d rounds.", b.n)
	p("- P2: the benchmark watches every pod of the namespace (client-go watch) and stamps, in local time,")
	p("  the event in which the base container is first terminated. The plugin's completion moment is the")
	p("  local time at which the benchmark reads its progress line `container base terminated` from the")
	p("  plugin's stderr (a pipe read line by line). Latency = the second minus the first; samples are every")
	p("  podtask run of P1. Process exit minus the same watch stamp is given for information.")
	p("- P3: the API server's audit log (Metadata level, stage ResponseComplete only: one entry per request,")
	p("  watches and log streams logged when they end; see test/cluster/README.md) is read from the offset")
	p("  it had before the runs. Counted: entries whose userAgent starts with `kubectl-podtask/` (kubectl:")
	p("  `kubectl/`), received between the runs' start and 2 s after their end, and naming the task's pod")
	p("  (objectRef.name, or the request URI, as the events watch's field selector does). The tasks run")
	p("  concurrently: `sleep 10`, `sleep %d`, the same with `--xcom`, and kubectl run --rm -i of the", int(b.long.Seconds()))
	p("  same sleeps.")
	p("- P4: wall time of `kubectl-podtask version --client` against `kubectl version --client`,")
	p("  interleaved, after one warm-up pair.")
	p("- P5: size in bytes (MB = 10^6) of the binary; the harness checks it has no symbols, no DWARF and")
	p("  no ELF interpreter.")
	p("- P6: a pod runs `sleep 3; seq 1 1000000; sleep 3`. Both readers follow the same pod at the")
	p("  same time, so they share the kubelet, the API server and the machine alike: for `attach POD` the")
	p("  benchmark creates the pod and starts both readers once it runs; `kubectl-podtask run --name NAME`")
	p("  creates its own pod, and `kubectl logs -f NAME` starts as soon as the benchmark's watch sees it")
	p("  running (3 s before its first line). Throughput = 1,000,000 / (time the line `1000000` was read −")
	p("  time the first line was read) on the reader's stdout (a pipe). The ratio is the median of the")
	p("  rounds' ratios (podtask's rate over kubectl's in the same round), with their min and max; the CPU")
	p("  ratio is the median of the rounds' CPU times (user+system of the whole process, wait4) of podtask")
	p("  over kubectl's. Each reads the log with one stream, as the kubelet serves it.")
	p("  The backlog row reads a pod that has already finished `seq 1 150000; sleep 3` (kubectl logs -f, then attach")
	p("  on the same pod), which measures the readers rather than the container's log pipeline (150,000")
	p("  lines keep the log file under the kubelet's 10 MiB rotation size).")
	p("  Peak RSS: the kernel's maxrss of the process (wait4). The TUI runs in a private tmux server's 120×40")
	p("  terminal under `/usr/bin/time -f %%M`, and is quit with `q` once its pod is gone.")
	return s.String()
}
