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
	// The memory row: a bigger run, whose plugin holds every item's
	// pod, events and result at once.
	p9RSSItems       = 1000
	p9RSSParallelism = 20
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
		"--parallelism", itoa(p9Parallelism), "--", "echo", "item {{ .params.n }}")
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

	// The run's requests: those naming one of its pods (create, delete,
	// log), and its own watches and lists: the pods by the run's label, the
	// namespace's pod events. Other clients of the shared cluster (other
	// plugin processes included) are left out.
	runID := ""
	for _, l := range pr.Stderr {
		if f := strings.Fields(l.Text); len(f) > 2 && f[0] == "podtask:" && f[1] == "run" {
			runID = strings.TrimSuffix(f[2], ":")
			break
		}
	}
	if runID == "" {
		return fmt.Errorf("P9: the run printed no run id")
	}
	perPod := map[string]int{}
	byVerb := map[string]int{}
	record := 0
	var rest []string
	for _, e := range entries {
		if e.Stage != "ResponseComplete" || !strings.HasPrefix(e.UserAgent, "kubectl-podtask/") ||
			e.Received.Before(pr.Start.Add(-time.Second)) || e.Received.After(pr.End.Add(time.Second)) {
			continue
		}
		switch {
		case e.ObjectRef != nil && e.ObjectRef.Resource == "configmaps" && e.ObjectRef.Name == "podtask-run-"+runID:
			// The run's record: written as items end, several at a time.
			record++
			byVerb[e.Verb+" configmaps"]++
		case e.ObjectRef != nil && strings.HasPrefix(e.ObjectRef.Name, name+"-"):
			perPod[e.ObjectRef.Name]++
			verb := e.Verb
			if e.ObjectRef.Subresource != "" {
				verb += " " + e.ObjectRef.Subresource
			}
			byVerb[verb]++
		case strings.Contains(e.RequestURI, "run-id%3D"+runID) ||
			strings.Contains(e.RequestURI, "/events?") && strings.Contains(e.RequestURI, "fieldSelector=involvedObject.kind%3DPod&") ||
			strings.HasSuffix(e.RequestURI, "fieldSelector=involvedObject.kind%3DPod"):
			res := ""
			if e.ObjectRef != nil {
				res = e.ObjectRef.Resource
			}
			rest = append(rest, e.Verb+" "+res)
		}
	}
	perItem := 0
	hist := map[int]int{}
	for _, n := range perPod {
		perItem += n
		hist[n]++
	}
	podRequests := perItem
	perItem += record // the record's writes are the items' too
	sort.Strings(rest)
	var histText []string
	for n := range 20 {
		if hist[n] > 0 {
			histText = append(histText, fmt.Sprintf("%d items with %d", hist[n], n))
		}
	}
	verbs := requestCount{ByVerb: byVerb}

	pw, kw := pr.Wall.Seconds(), kr.Wall.Seconds()
	// The cluster's floor, from the benchmark's own watch: each pod's time
	// from creation to its base container's end, and from that end to the
	// pod gone (the client's end: logs, result, cleanup, deletion).
	pUp, pEnd := b.p9Phases(name+"-", "base")
	kUp, kEnd := b.p9Phases(b.id+"-x-", "")
	floor := pUp.mean() * p9Items / p9Parallelism
	b.rows = append(b.rows,
		row{Metric: fmt.Sprintf("P9 mapped run: wall time of %d trivial items at parallelism %d (`run --each` against `xargs -P %d kubectl run --rm -i`)", p9Items, p9Parallelism, p9Parallelism),
			Podtask: fmt.Sprintf("%.1f s", pw), Kubectl: fmt.Sprintf("%.1f s", kw), Ratio: ratio(pw, kw),
			Goal: "≤ 0.5×", Holds: yesNo(kw > 0 && pw/kw <= 0.5), N: "1"},
		row{Metric: fmt.Sprintf("P9 mapped run: wall time against the cluster's floor (the items' mean creation-to-base-end × %d / %d)", p9Items, p9Parallelism),
			Podtask: fmt.Sprintf("%.1f s", pw), Kubectl: fmt.Sprintf("%.1f s floor", floor), Ratio: ratio(pw, floor),
			Goal: "(information)", Holds: "—", N: "1"},
		row{Metric: "P9 mapped run: API requests per item (mean over the items, the run record's writes included; the run's own watches apart)",
			Podtask: fmt.Sprintf("%.2f", float64(perItem)/p9Items), Kubectl: "—", Ratio: "—", Goal: "≤ 3",
			Holds: yesNo(perItem <= 3*p9Items && len(perPod) == p9Items), N: "1"},
		row{Metric: "P9 mapped run: API requests of the run itself (its watches and lists), whatever the number of items",
			Podtask: itoa(len(rest)), Kubectl: "—", Ratio: "—", Goal: "constant", Holds: yesNo(len(rest) <= 4), N: "1"},
	)
	b.details = append(b.details, fmt.Sprintf("P9 run %s: %d items, %d pods named in the audit log, %d requests about them and %d about the run's record (%s; %s); the run's own: %s; exit codes: podtask %d, xargs %d.",
		runID, p9Items, len(perPod), podRequests, record, verbs.verbs(), strings.Join(histText, ", "), strings.Join(rest, ", "), pr.ExitCode, kr.ExitCode))
	b.details = append(b.details, fmt.Sprintf("P9 per item, as the benchmark's watch saw the pods: creation to base end %s (podtask) and %s (kubectl run); "+
		"base end to pod gone %s (podtask) and %s (kubectl run). Half of xargs' wall time is %.1f s; the floor of %d items at parallelism %d is %.1f s.",
		pUp.summary("%.2f", "s"), kUp.summary("%.2f", "s"), pEnd.summary("%.2f", "s"), kEnd.summary("%.2f", "s"), kw/2, p9Items, p9Parallelism, floor))
	if pr.ExitCode != 0 || kr.ExitCode != 0 {
		return fmt.Errorf("P9: podtask exited %d, xargs %d", pr.ExitCode, kr.ExitCode)
	}
	return b.p9RSS(ctx)
}

// p9Phases is, for the pods whose names start with prefix as the
// benchmark's watch saw them, each one's time from creation to its
// container's end (container "" is the one named as the pod, as kubectl run
// names it) and from that end to the pod gone, in seconds.
func (b *bench) p9Phases(prefix, container string) (up, end sample) {
	for name, seen := range b.w.named(prefix) {
		c := container
		if c == "" {
			c = name
		}
		if seen.Terminated[c].IsZero() {
			continue
		}
		up = append(up, seen.Terminated[c].Sub(seen.Created).Seconds())
		if !seen.Deleted.IsZero() {
			end = append(end, seen.Deleted.Sub(seen.Terminated[c]).Seconds())
		}
	}
	return up, end
}

// p9RSS runs 1,000 trivial items at parallelism 20 and reports the
// plugin's peak RSS.
func (b *bench) p9RSS(ctx context.Context) error {
	var items strings.Builder
	for i := range p9RSSItems {
		fmt.Fprintf(&items, "{\"n\": %d}\n", i)
	}
	p := b.podtask("run", "-n", "default", "--name", b.id+"-r", "--image", image, "--each", "-",
		"--parallelism", itoa(p9RSSParallelism), "--xcom-mode", "termination-message", "--xcom-out", "-",
		"--", "sh", "-c", "echo item {{ .params.n }}; mkdir -p /airflow/xcom; echo {{ .params.n }} > /airflow/xcom/return.json")
	p.Stdin = strings.NewReader(items.String())
	p.Timeout = 40 * time.Minute
	r, err := mustRun(ctx, p)
	if err != nil {
		return err
	}
	mb := float64(r.MaxRSSKB) / 1000
	b.rows = append(b.rows, row{Metric: fmt.Sprintf("P9 mapped run: peak RSS of the plugin for %d trivial items at parallelism %d", p9RSSItems, p9RSSParallelism),
		Podtask: fmt.Sprintf("%.1f MB", mb), Kubectl: "—", Ratio: "—", Goal: "≤ 100 MB", Holds: yesNo(r.ExitCode == 0 && mb <= 100), N: "1"})
	b.details = append(b.details, fmt.Sprintf("P9 memory run: %d items at parallelism %d in %.1f s (%.1f items/s), exit %d, peak RSS (VmHWM) %.1f MB.",
		p9RSSItems, p9RSSParallelism, r.Wall.Seconds(), float64(p9RSSItems)/r.Wall.Seconds(), r.ExitCode, mb))
	if r.ExitCode != 0 {
		return fmt.Errorf("P9 memory run: exit %d: %s", r.ExitCode, r.stderrText())
	}
	return nil
}
