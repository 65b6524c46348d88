package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// P5: size of the stripped binary `make build` makes.
func (b *bench) p5Size(ctx context.Context) error {
	pi, err := os.Stat(b.plugin)
	if err != nil {
		return err
	}
	ki, err := os.Stat(b.kubectl)
	if err != nil {
		return err
	}
	mb := func(n int64) float64 { return float64(n) / 1e6 }
	p, k := mb(pi.Size()), mb(ki.Size())
	b.rows = append(b.rows, row{
		Metric:  "P5 binary size (stripped, linux/amd64, `make build`)",
		Podtask: fmt.Sprintf("%.1f MB", p), Kubectl: fmt.Sprintf("%.1f MB", k), Ratio: ratio(p, k),
		Goal: "≤ 45 MB", Holds: yesNo(p <= 45), N: "1",
	})
	b.details = append(b.details, fmt.Sprintf("P5: %d bytes (%.1f MiB); the kubectl binary is the cluster's standalone build, for scale.",
		pi.Size(), float64(pi.Size())/(1<<20)))
	return nil
}

// P4: start-up, `version --client`, interleaved.
func (b *bench) p4Startup(ctx context.Context) error {
	var ps, ks sample
	for i := -1; i < b.nStart; i++ { // i == -1 warms the page cache
		pr, err := mustRun(ctx, b.podtask("version", "--client"))
		if err != nil {
			return err
		}
		kr, err := mustRun(ctx, b.kubectlProc("version", "--client"))
		if err != nil {
			return err
		}
		if i >= 0 {
			ps, ks = append(ps, ms(pr.Wall)), append(ks, ms(kr.Wall))
		}
	}
	r := ps.median() / ks.median()
	b.rows = append(b.rows, row{
		Metric:  "P4 start-up: `version --client` wall time",
		Podtask: ps.summary("%.1f", "ms"), Kubectl: ks.summary("%.1f", "ms"), Ratio: fmt.Sprintf("%.2f×", r),
		Goal: "≤ 0.5×", Holds: yesNo(r <= 0.5), N: itoa(len(ps)),
	})
	return nil
}

// p1Variant is one command P1 times.
type p1Variant struct {
	key, label, goalText string
	goal                 float64
	proc                 func(i int) proc
	wantStdout           string
	podtask              bool
}

// P1: wall time of a trivial task, interleaved with kubectl run; P2 from the same runs.
func (b *bench) p1Trivial(ctx context.Context) error {
	xcomCmd := `echo hi; mkdir -p /airflow/xcom; echo '[1,2]' > /airflow/xcom/return.json`
	plain := p1Variant{key: "plain", label: "P1 trivial task wall time: `run -- echo hi`", goalText: "≤ 0.9×", goal: 0.9, podtask: true,
		wantStdout: "hi", proc: func(int) proc { return b.podtask("run", "--image", image, "--", "echo", "hi") }}
	kubectl := p1Variant{key: "kubectl", wantStdout: "hi", proc: func(i int) proc {
		p := b.kubectlProc("run", fmt.Sprintf("%s-k%d", b.id, i), "--rm", "-i", "--restart=Never", "--image", image, "--", "echo", "hi")
		p.Stdin = strings.NewReader("") // stdin attached, at EOF
		return p
	}}
	xcom := p1Variant{key: "xcom", label: "P1 with `--xcom` (sidecar + exec read)", goalText: "≤ 1.1×", goal: 1.1, podtask: true,
		wantStdout: "hi", proc: func(int) proc { return b.podtask("run", "--image", image, "--xcom", "--", "sh", "-c", xcomCmd) }}
	tm := p1Variant{key: "tm", label: "P1 with `--xcom-mode=termination-message`", goalText: "≤ 0.9×", goal: 0.9, podtask: true,
		wantStdout: "hi", proc: func(int) proc {
			return b.podtask("run", "--image", image, "--xcom-mode=termination-message", "--", "sh", "-c", xcomCmd)
		}}
	dispatch := p1Variant{key: "dispatch", label: "P1 via kubectl's plugin dispatch: `kubectl podtask run -- echo hi` (information)", podtask: true,
		wantStdout: "hi", proc: func(int) proc {
			return b.kubectlProc("podtask", "run", "--image", image, "--", "echo", "hi")
		}}
	order := []p1Variant{plain, kubectl, xcom, tm, kubectl, dispatch}

	walls := map[string]sample{}
	var lat, latExit sample
	latBy := map[string]sample{}
	kn := 0
	for i := 0; i < b.n; i++ {
		for _, v := range order {
			p := v.proc(kn)
			if v.key == "kubectl" {
				kn++
			}
			r, err := mustRun(ctx, p)
			if err != nil {
				return err
			}
			if !strings.Contains(r.Stdout, v.wantStdout) {
				return fmt.Errorf("%s: stdout %q lacks %q; stderr: %s", v.key, tail(r.Stdout, 200), v.wantStdout, tail(r.stderrText(), 400))
			}
			if (v.key == "xcom" || v.key == "tm") && !strings.Contains(r.stderrText(), "[1,2]") {
				return fmt.Errorf("%s: no xcom result on stderr: %s", v.key, tail(r.stderrText(), 400))
			}
			walls[v.key] = append(walls[v.key], secs(r.Wall))
			if !v.podtask {
				continue
			}
			// P2: the plugin's "container base terminated" line against the
			// moment our watch saw the base container terminated.
			pod := createdPod(r)
			l, ok := r.firstStderr("container base terminated")
			if pod == "" || !ok {
				return fmt.Errorf("%s: no pod name or terminated line in: %s", v.key, tail(r.stderrText(), 400))
			}
			name, err := b.w.waitFor(ctx, pod, 5*time.Second, "seen terminated", func(s *podSeen) bool { return !s.Terminated["base"].IsZero() })
			if err != nil {
				return err
			}
			term := b.w.get(name).Terminated["base"]
			lat = append(lat, ms(l.At.Sub(term)))
			latBy[v.key] = append(latBy[v.key], ms(l.At.Sub(term)))
			latExit = append(latExit, ms(r.End.Sub(term)))
		}
	}
	k := walls["kubectl"]
	for _, v := range []p1Variant{plain, xcom, tm, dispatch} {
		s := walls[v.key]
		r := s.median() / k.median()
		holds := "—"
		if v.goal > 0 {
			holds = yesNo(r <= v.goal)
		}
		b.rows = append(b.rows, row{Metric: v.label, Podtask: s.summary("%.2f", "s"), Kubectl: k.summary("%.2f", "s"),
			Ratio: fmt.Sprintf("%.2f×", r), Goal: or(v.goalText, "—"), Holds: holds, N: fmt.Sprintf("%d / %d", len(s), len(k))})
	}
	p95 := lat.pct(95)
	b.rows = append(b.rows, row{Metric: "P2 completion latency (p95; median (min–max) below)", Podtask: fmt.Sprintf("p95 %.1f ms; %s", p95, lat.summary("%.1f", "ms")),
		Kubectl: "—", Ratio: "—", Goal: "p95 ≤ 100 ms", Holds: yesNo(p95 <= 100), N: itoa(len(lat))})
	b.details = append(b.details,
		fmt.Sprintf("P2 by variant (median (min–max)): plain %s; --xcom %s; termination-message %s; via kubectl %s.",
			latBy["plain"].summary("%.1f", "ms"), latBy["xcom"].summary("%.1f", "ms"), latBy["tm"].summary("%.1f", "ms"), latBy["dispatch"].summary("%.1f", "ms")),
		fmt.Sprintf("P2, for information: base container terminated (our watch) to process exit, which adds the XCom read and the pod's deletion: p95 %.0f ms, %s.",
			latExit.pct(95), latExit.summary("%.0f", "ms")))
	return nil
}

func or(s, d string) string {
	if s == "" {
		return d
	}
	return s
}

// P3: API requests per task, from the audit log, for a short and a long sleep.
func (b *bench) p3Requests(ctx context.Context) error {
	audit := filepath.Join(b.clusterDir, "audit.log")
	if _, err := os.Stat(audit); err != nil {
		return fmt.Errorf("no audit log at %s: the local cluster writes one (test/cluster/up.sh)", audit)
	}
	off := auditOffset(audit)
	short := 10 * time.Second
	type job struct {
		key  string
		p    proc
		kube bool
		pod  string
		res  *procResult
		err  error
	}
	sleep := func(d time.Duration) string { return strconv.Itoa(int(d.Seconds())) }
	kshort, klong := b.id+"-k"+sleep(short), b.id+"-k"+sleep(b.long)
	jobs := []*job{
		{key: "podtask " + sleep(short) + " s", p: b.podtask("run", "--image", image, "--", "sleep", sleep(short))},
		{key: "podtask " + sleep(b.long) + " s", p: b.podtask("run", "--image", image, "--", "sleep", sleep(b.long))},
		{key: "podtask --xcom " + sleep(b.long) + " s", p: b.podtask("run", "--image", image, "--xcom", "--", "sh", "-c",
			"sleep "+sleep(b.long)+"; mkdir -p /airflow/xcom; echo 1 > /airflow/xcom/return.json")},
		{key: "kubectl " + sleep(short) + " s", kube: true, pod: kshort, p: b.kubectlProc("run", kshort, "--rm", "-i", "--restart=Never", "--image", image, "--", "sleep", sleep(short))},
		{key: "kubectl " + sleep(b.long) + " s", kube: true, pod: klong, p: b.kubectlProc("run", klong, "--rm", "-i", "--restart=Never", "--image", image, "--", "sleep", sleep(b.long))},
	}
	from := time.Now().Add(-time.Second)
	var wg sync.WaitGroup
	for _, j := range jobs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if j.kube {
				j.p.Stdin = strings.NewReader("")
			}
			j.p.Timeout = b.long + 2*time.Minute
			j.res, j.err = mustRun(ctx, j.p)
			if j.err == nil && !j.kube {
				j.pod = createdPod(j.res)
			}
		}()
	}
	wg.Wait()
	for _, j := range jobs {
		if j.err != nil {
			return j.err
		}
	}
	time.Sleep(2 * time.Second) // long-running requests are logged when they end
	to := time.Now()
	entries, err := readAudit(audit, off)
	if err != nil {
		return err
	}
	var pods []string
	for _, j := range jobs {
		pods = append(pods, j.pod)
	}
	counts := map[string]requestCount{}
	for _, j := range jobs {
		ua := "kubectl-podtask/"
		if j.kube {
			ua = "kubectl/"
		}
		counts[j.key] = countRequests(entries, ua, j.pod, pods, from, to)
	}
	for _, d := range []time.Duration{short, b.long} {
		p, k := counts["podtask "+sleep(d)+" s"], counts["kubectl "+sleep(d)+" s"]
		b.rows = append(b.rows, row{
			Metric:  fmt.Sprintf("P3 API requests, `sleep %s` task", sleep(d)),
			Podtask: itoa(p.Total), Kubectl: itoa(k.Total), Ratio: ratio(float64(p.Total), float64(k.Total)),
			Goal: "≤ 15", Holds: yesNo(p.Total <= 15), N: "1",
		})
	}
	x := counts["podtask --xcom "+sleep(b.long)+" s"]
	b.rows = append(b.rows, row{Metric: fmt.Sprintf("P3 API requests, `--xcom` task of %s s", sleep(b.long)), Podtask: itoa(x.Total),
		Kubectl: "—", Ratio: "—", Goal: "≤ 15", Holds: yesNo(x.Total <= 15), N: "1"})
	for _, j := range jobs {
		c := counts[j.key]
		b.details = append(b.details, fmt.Sprintf("P3 %s (pod %s): %d requests: %s; unattributed requests of the same client in the window: %d.",
			j.key, j.pod, c.Total, c.verbs(), c.Unattributed))
	}
	return nil
}

// P6: log throughput of `run`, `attach` and `kubectl logs -f`; peak RSS, TUI included.
func (b *bench) p6Logs(ctx context.Context) error {
	const lines = 1_000_000
	script := fmt.Sprintf("sleep 3; seq 1 %d; sleep 3", lines)
	last := []byte(strconv.Itoa(lines))
	// reader times the first and the last line on stdout.
	type reader struct {
		first, last, lastAt time.Time
		n                   int
	}
	newReader := func() (*reader, func(time.Time, []byte)) {
		r := &reader{}
		return r, func(at time.Time, l []byte) {
			if r.n == 0 {
				r.first = at
			}
			r.n++
			r.lastAt = at
			if bytes.Equal(l, last) {
				r.last = at
			}
		}
	}
	// rate is lines read per second; a reader that lost lines is counted by
	// what it read, and the loss is reported (it fails the goal).
	lost := map[string]int{}
	rate := func(r *reader, who string) (float64, error) {
		if r.n == 0 {
			return 0, fmt.Errorf("%s read no line", who)
		}
		if r.last.IsZero() || r.n < lines {
			lost[who] += lines - r.n
			return float64(r.n) / r.lastAt.Sub(r.first).Seconds(), nil
		}
		return float64(lines) / r.last.Sub(r.first).Seconds(), nil
	}
	// waitingPod creates a pod that runs script and waits until it runs.
	waitingPod := func(name string) error {
		pod := &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{"app": "podtask-bench"}},
			Spec: corev1.PodSpec{
				RestartPolicy:                 corev1.RestartPolicyNever,
				TerminationGracePeriodSeconds: new(int64),
				Containers:                    []corev1.Container{{Name: "base", Image: image, Command: []string{"sh", "-c", script}}},
			},
		}
		if _, err := b.core.Pods("default").Create(ctx, pod, metav1.CreateOptions{}); err != nil {
			return err
		}
		_, err := b.w.waitFor(ctx, name, time.Minute, "running", func(s *podSeen) bool { return !s.Running["base"].IsZero() })
		return err
	}
	del := func(name string) {
		_ = b.core.Pods("default").Delete(context.Background(), name, metav1.DeleteOptions{GracePeriodSeconds: new(int64)})
	}

	// Both readers follow the same pod at the same time: the kubelet, the
	// API server and the machine are shared alike, so the ratio of one
	// round does not drift with the machine's load. A round's ratio is
	// podtask's rate over kubectl's in that round.
	var kRate, aRate, rRate, aRatio, rRatio sample
	var kRSS, aRSS, rRSS sample
	var kCPU, aCPU, rCPU sample
	var aCPURatio, rCPURatio sample // a round's CPU time of podtask over kubectl's
	// race runs podtask p and, once the pod runs (it sleeps 3 s before its
	// first line), kubectl logs -f on it.
	race := func(name, who string, p proc) error {
		krd, kon := newReader()
		prd, pon := newReader()
		p.OnStdout = pon
		var pres *procResult
		var perr error
		done := make(chan struct{})
		go func() { defer close(done); pres, perr = mustRun(ctx, p) }()
		if _, err := b.w.waitFor(ctx, name, time.Minute, "running", func(s *podSeen) bool { return !s.Running["base"].IsZero() }); err != nil {
			<-done
			return err
		}
		k := b.kubectlProc("logs", "-f", name)
		k.OnStdout = kon
		kres, kerr := mustRun(ctx, k)
		<-done
		if kerr != nil {
			return kerr
		}
		if perr != nil {
			return perr
		}
		kr, err := rate(krd, "kubectl logs -f")
		if err != nil {
			return err
		}
		before := lost[who]
		pr, err := rate(prd, who)
		if err != nil {
			return fmt.Errorf("%w; its stderr: %s", err, tail(pres.stderrText(), 1500))
		}
		if n := lost[who] - before; n > 0 {
			b.details = append(b.details, fmt.Sprintf("P6 %s: %s printed %d lines, missing %d; its progress: %s", name, who, lines-n, n, oneLine(progressOnly(pres))))
		}
		kRate, kRSS, kCPU = append(kRate, kr), append(kRSS, float64(kres.MaxRSSKB)/1024), append(kCPU, secs(kres.CPU))
		if who == "podtask attach" {
			aRate, aRSS, aCPU = append(aRate, pr), append(aRSS, float64(pres.MaxRSSKB)/1024), append(aCPU, secs(pres.CPU))
			aRatio, aCPURatio = append(aRatio, pr/kr), append(aCPURatio, secs(pres.CPU)/secs(kres.CPU))
		} else {
			rRate, rRSS, rCPU = append(rRate, pr), append(rRSS, float64(pres.MaxRSSKB)/1024), append(rCPU, secs(pres.CPU))
			rRatio, rCPURatio = append(rRatio, pr/kr), append(rCPURatio, secs(pres.CPU)/secs(kres.CPU))
		}
		return nil
	}
	for i := 0; i < b.nLogs; i++ {
		// podtask attach and kubectl logs -f on a pod that waits 3 s
		name := fmt.Sprintf("%s-logs-a%d", b.id, i)
		if err := waitingPod(name); err != nil {
			return err
		}
		err := race(name, "podtask attach", b.podtask("attach", name))
		del(name)
		if err != nil {
			return err
		}
		// podtask run creates its pod; kubectl logs -f follows the same pod
		name = fmt.Sprintf("%s-logs-r%d", b.id, i)
		err = race(name, "podtask run", b.podtask("run", "--name", name, "--random-name-suffix=false", "--image", image, "--", "sh", "-c", script))
		if err != nil {
			return err
		}
	}
	// A finished pod's backlog of 150,000 lines: the same lines read at the readers' own pace.
	// 150,000 lines keep the CRI log file (about 47 bytes a line) under a
	// kubelet's default 10 MiB rotation size (logs of a finished container are
	// read from its current file only). The container sleeps after seq: the
	// runtime may still be writing the log file when the process has exited,
	// and a stream of a terminated container ends at the file's end.
	const backLines = 150_000
	backLast := []byte(strconv.Itoa(backLines))
	newBackReader := func() (*reader, func(time.Time, []byte)) {
		r := &reader{}
		return r, func(at time.Time, l []byte) {
			if r.n == 0 {
				r.first = at
			}
			r.n++
			if bytes.Equal(l, backLast) {
				r.last = at
			}
		}
	}
	backRate := func(r *reader, who string) (float64, error) {
		if r.n == 0 {
			return 0, fmt.Errorf("%s read no line", who)
		}
		if r.last.IsZero() || r.n < backLines {
			lost[who+" (backlog)"] += backLines - r.n
			return float64(r.n) / r.lastAt.Sub(r.first).Seconds(), nil
		}
		return float64(backLines) / r.last.Sub(r.first).Seconds(), nil
	}
	var kBack, aBack sample
	for i := 0; i < b.nLogs; i++ {
		name := fmt.Sprintf("%s-backlog%d", b.id, i)
		pod := &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{"app": "podtask-bench"}},
			Spec: corev1.PodSpec{
				RestartPolicy:                 corev1.RestartPolicyNever,
				TerminationGracePeriodSeconds: new(int64),
				Containers:                    []corev1.Container{{Name: "base", Image: image, Command: []string{"sh", "-c", fmt.Sprintf("seq 1 %d; sleep 3", backLines)}}},
			},
		}
		if _, err := b.core.Pods("default").Create(ctx, pod, metav1.CreateOptions{}); err != nil {
			return err
		}
		if _, err := b.w.waitFor(ctx, name, 2*time.Minute, "terminated", func(s *podSeen) bool { return !s.Terminated["base"].IsZero() }); err != nil {
			return err
		}
		rd, on := newBackReader()
		p := b.kubectlProc("logs", "-f", name)
		p.OnStdout = on
		if _, err := mustRun(ctx, p); err != nil {
			del(name)
			return err
		}
		v, err := backRate(rd, "kubectl logs -f")
		if err != nil {
			del(name)
			return err
		}
		kBack = append(kBack, v)
		rd, on = newBackReader()
		p = b.podtask("attach", name)
		p.OnStdout = on
		_, err = mustRun(ctx, p)
		del(name)
		if err != nil {
			return err
		}
		if v, err = backRate(rd, "podtask attach"); err != nil {
			return err
		}
		aBack = append(aBack, v)
	}
	for _, who := range []string{"kubectl logs -f (backlog)", "podtask attach (backlog)"} {
		if n := lost[who]; n > 0 {
			b.details = append(b.details, fmt.Sprintf("P6: %s missed %d lines in all.", who, n))
		}
	}
	rb := aBack.median() / kBack.median()
	backRow := row{Metric: "P6 log throughput, finished pod's backlog of 150,000 lines: `attach POD` vs `kubectl logs -f POD` (information)",
		Podtask: aBack.summary("%.0f", "lines/s"), Kubectl: kBack.summary("%.0f", "lines/s"),
		Ratio: fmt.Sprintf("%.2f×", rb), Goal: "≥ 1.0×", Holds: yesNo(rb >= 1.0 && lost["podtask attach (backlog)"] == 0), N: itoa(len(aBack))}

	if n := lost["kubectl logs -f"]; n > 0 {
		b.details = append(b.details, fmt.Sprintf("P6: kubectl logs -f missed %d lines in all.", n))
	}
	// The goal: one stream as fast as kubectl's (0.95x at least), for at
	// most 0.8x its CPU time, every line exactly once.
	for _, x := range []struct {
		label, who     string
		s, ratios, cpu sample
	}{{"P6 log throughput, one stream, both on the same pod at once: `attach POD` vs `kubectl logs -f POD`", "podtask attach", aRate, aRatio, aCPURatio},
		{"P6 log throughput, one stream, both on the same pod at once: `run` (its own pod) vs `kubectl logs -f POD`", "podtask run", rRate, rRatio, rCPURatio}} {
		r, c := x.ratios.median(), x.cpu.median()
		holds := yesNo(r >= 0.95 && c <= 0.8 && lost[x.who] == 0 && lost["kubectl logs -f"] == 0)
		if lost[x.who] > 0 {
			holds += fmt.Sprintf(" (lost %d lines)", lost[x.who])
		}
		b.rows = append(b.rows, row{Metric: x.label, Podtask: x.s.summary("%.0f", "lines/s"), Kubectl: kRate.summary("%.0f", "lines/s"),
			Ratio: fmt.Sprintf("%.3f× (%.3f–%.3f); CPU %.2f× (%.2f–%.2f)", r, x.ratios.min(), x.ratios.max(), c, x.cpu.min(), x.cpu.max()),
			Goal:  "≥ 0.95×, CPU ≤ 0.8×, every line once", Holds: holds, N: itoa(len(x.s))})
	}
	b.rows = append(b.rows, backRow)
	b.details = append(b.details, fmt.Sprintf("P6 peak RSS (plain output) while streaming %d lines: kubectl logs -f %s, podtask attach %s, podtask run %s.",
		lines, kRSS.summary("%.0f", "MB"), aRSS.summary("%.0f", "MB"), rRSS.summary("%.0f", "MB")),
		fmt.Sprintf("P6 CPU time (user+system) of the whole process for the same runs: kubectl logs -f %s, podtask attach %s, podtask run %s.",
			kCPU.summary("%.2f", "s"), aCPU.summary("%.2f", "s"), rCPU.summary("%.2f", "s")))

	rss, err := b.tuiRSS(ctx, script)
	if err != nil {
		return fmt.Errorf("run --tui: %w", err)
	}
	b.rows = append(b.rows, row{Metric: "P6 peak RSS of `run --tui` streaming 1,000,000 lines (kubectl: `logs -f`)",
		Podtask: fmt.Sprintf("%.0f MB", rss), Kubectl: kRSS.summary("%.0f", "MB"), Ratio: ratio(rss, kRSS.median()),
		Goal: "≤ 80 MB", Holds: yesNo(rss <= 80), N: "1"})
	return nil
}

// tuiRSS runs `run --tui` in a private tmux server's 120×40 terminal under
// /usr/bin/time, presses q once the task is over, and returns the peak RSS in MB.
func (b *bench) tuiRSS(ctx context.Context, script string) (float64, error) {
	dir, err := os.MkdirTemp("", "podtask-bench-tui")
	if err != nil {
		return 0, err
	}
	defer os.RemoveAll(dir)
	rssFile := filepath.Join(dir, "rss")
	name := b.id + "-tui"
	sock := b.id
	quote := func(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }
	cmdline := strings.Join([]string{"env", quote("KUBECONFIG=" + b.kubeconfig), "/usr/bin/time", "-f", "%M", "-o", quote(rssFile),
		quote(b.plugin), "run", "--tui", "--name", name, "--image", image, "--", "sh", "-c", quote(script)}, " ")
	tmux := func(args ...string) error {
		return exec.CommandContext(ctx, "tmux", append([]string{"-L", sock}, args...)...).Run()
	}
	if err := tmux("new-session", "-d", "-x", "120", "-y", "40", cmdline); err != nil {
		return 0, fmt.Errorf("tmux: %w", err)
	}
	defer func() { _ = tmux("kill-server") }()
	pod, err := b.w.waitFor(ctx, name, 2*time.Minute, "terminated", func(s *podSeen) bool { return !s.Terminated["base"].IsZero() })
	if err != nil {
		return 0, err
	}
	if _, err := b.w.waitFor(ctx, pod, time.Minute, "deleted", func(s *podSeen) bool { return !s.Deleted.IsZero() }); err != nil {
		return 0, err
	}
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if out, err := os.ReadFile(rssFile); err == nil && len(bytes.TrimSpace(out)) > 0 {
			f := strings.Fields(string(out))
			kb, err := strconv.ParseFloat(f[len(f)-1], 64)
			if err != nil {
				return 0, fmt.Errorf("/usr/bin/time wrote %q", out)
			}
			return kb / 1024, nil
		}
		_ = tmux("send-keys", "q")
		time.Sleep(500 * time.Millisecond)
	}
	return 0, fmt.Errorf("the TUI did not quit on q")
}

// progressOnly is the plugin's stderr without its event lines.
func progressOnly(r *procResult) string {
	var out []string
	for _, l := range r.Stderr {
		if !strings.HasPrefix(l.Text, "podtask: event:") {
			out = append(out, strings.TrimPrefix(l.Text, "podtask: "))
		}
	}
	return strings.Join(out, " | ")
}
