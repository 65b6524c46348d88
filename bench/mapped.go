package main

// P9: a mapped run of 100 trivial items at parallelism 10 (`run --each`)
// against `xargs -P 10` of `kubectl run --rm -i`: wall time, and the
// plugin's API requests per item and for the whole run from the audit log.

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

const (
	p9Items       = 100
	p9Parallelism = 10
)

func (b *bench) p9Mapped(ctx context.Context) error {
	audit := filepath.Join(b.clusterDir, "audit.log")
	if _, err := os.Stat(audit); err != nil {
		return fmt.Errorf("no audit log at %s: the local cluster writes one (test/cluster/up.sh)", audit)
	}
	var items strings.Builder
	for i := range p9Items {
		fmt.Fprintf(&items, "{\"n\": %d}\n", i)
	}
	name := b.id + "-m"
	off := auditOffset(audit)
	p := b.podtask("run", "-n", "default", "--name", name, "--image", image, "--each", "-",
		"--parallelism", itoa(p9Parallelism), "-q", "--", "echo", "item {{ .params.n }}")
	p.Stdin = strings.NewReader(items.String())
	p.Timeout = 20 * time.Minute
	pr, err := mustRun(ctx, p)
	if err != nil {
		return err
	}
	time.Sleep(2 * time.Second) // watches are logged when they end
	entries, err := readAudit(audit, off)
	if err != nil {
		return err
	}

	script := fmt.Sprintf("seq 0 %d | xargs -P %d -I{} %s run %s-x-{} --rm -i --restart=Never --image %s -- echo item {}",
		p9Items-1, p9Parallelism, b.kubectl, b.id, image)
	k := proc{Name: "sh", Args: []string{"-c", script}, Env: b.env, Timeout: 30 * time.Minute}
	kr, err := mustRun(ctx, k)
	if err != nil {
		return err
	}

	// The plugin's requests in its window: those naming one of the run's
	// pods (create, delete, log), and the rest (the run's watches and lists).
	perPod := map[string]int{}
	var rest []string
	watches := 0
	for _, e := range entries {
		if e.Stage != "ResponseComplete" || !strings.HasPrefix(e.UserAgent, "kubectl-podtask/") ||
			e.Received.Before(pr.Start.Add(-time.Second)) || e.Received.After(pr.End.Add(time.Second)) {
			continue
		}
		if e.Verb == "watch" {
			watches++
		}
		if e.ObjectRef != nil && strings.HasPrefix(e.ObjectRef.Name, name+"-") {
			perPod[e.ObjectRef.Name]++
			continue
		}
		res := ""
		if e.ObjectRef != nil {
			res = e.ObjectRef.Resource
		}
		rest = append(rest, e.Verb+" "+res)
	}
	total := len(rest)
	maxPer := 0
	for _, n := range perPod {
		total += n
		maxPer = max(maxPer, n)
	}
	sort.Strings(rest)

	pw, kw := pr.Wall.Seconds(), kr.Wall.Seconds()
	b.rows = append(b.rows,
		row{Metric: fmt.Sprintf("P9 mapped run: wall time of %d trivial items at parallelism %d (`run --each` against `xargs -P %d kubectl run --rm -i`)", p9Items, p9Parallelism, p9Parallelism),
			Podtask: fmt.Sprintf("%.1f s", pw), Kubectl: fmt.Sprintf("%.1f s", kw), Ratio: ratio(pw, kw),
			Goal: "≤ 0.5×", Holds: yesNo(kw > 0 && pw/kw <= 0.5), N: "1"},
		row{Metric: "P9 mapped run: API requests per item (most of any item; the run's own requests apart)",
			Podtask: itoa(maxPer), Kubectl: "—", Ratio: "—", Goal: "≤ 3", Holds: yesNo(maxPer <= 3 && len(perPod) == p9Items), N: "1"},
		row{Metric: "P9 mapped run: API requests of the run itself (watches, lists), whatever the number of items",
			Podtask: itoa(len(rest)), Kubectl: "—", Ratio: "—", Goal: "constant", Holds: yesNo(watches <= 2), N: "1"},
	)
	b.details = append(b.details, fmt.Sprintf("P9 %d items, %d pods named in the audit log, %d requests in all (%.2f per item); the run's own: %s; exit codes: podtask %d, xargs %d.",
		p9Items, len(perPod), total, float64(total)/p9Items, strings.Join(rest, ", "), pr.ExitCode, kr.ExitCode))
	if pr.ExitCode != 0 || kr.ExitCode != 0 {
		return fmt.Errorf("P9: podtask exited %d, xargs %d", pr.ExitCode, kr.ExitCode)
	}
	return nil
}
