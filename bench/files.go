package main

// P10: files in and out. 200 MB of random files sent with --file and
// fetched with --artifact, against kubectl cp into and out of a running pod;
// podtask cp against kubectl cp on the same pod; the plugin's peak RSS.

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

const (
	p7Bytes  = 200 << 20
	p7Rounds = 5
)

// p7Tree writes p7Bytes of random data in nested folders under dir.
func p7Tree(dir string) error {
	rng := rand.NewChaCha8([32]byte{7})
	parts := []string{"a/b/one.bin", "a/b/c/two.bin", "d/three.bin", "d/e/f/four.bin"}
	for _, p := range parts {
		full := filepath.Join(dir, p)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			return err
		}
		f, err := os.Create(full)
		if err != nil {
			return err
		}
		_, err = io.CopyN(f, rng, p7Bytes/int64(len(parts)))
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return err
		}
	}
	return nil
}

type p7Summary struct {
	Pod   string `json:"pod"`
	Files *struct {
		Bytes   int64   `json:"bytes"`
		Seconds float64 `json:"seconds"`
	} `json:"files"`
	Artifacts []struct {
		Bytes   int64   `json:"bytes"`
		Seconds float64 `json:"seconds"`
		Error   string  `json:"error"`
	} `json:"artifacts"`
}

func (b *bench) p10Files(ctx context.Context) error {
	dir, err := os.MkdirTemp("", "podtask-bench-files")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	src := filepath.Join(dir, "src")
	if err := p7Tree(src); err != nil {
		return err
	}
	// The running pod kubectl cp and podtask cp copy into and out of.
	name := b.id + "-cp"
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{"app": "podtask-bench"}},
		Spec: corev1.PodSpec{
			RestartPolicy:                 corev1.RestartPolicyNever,
			TerminationGracePeriodSeconds: new(int64),
			Containers: []corev1.Container{{Name: "base", Image: image, Command: []string{"sh", "-c",
				fmt.Sprintf("mkdir -p /data && head -c %d /dev/urandom > /data/blob && touch /ready && sleep 3600", p7Bytes)}}},
		},
	}
	if _, err := b.core.Pods("default").Create(ctx, pod, metav1.CreateOptions{}); err != nil {
		return err
	}
	defer b.core.Pods("default").Delete(context.WithoutCancel(ctx), name, metav1.DeleteOptions{})
	if _, err := b.w.waitFor(ctx, name, 2*time.Minute, "running", func(s *podSeen) bool { return !s.Running["base"].IsZero() }); err != nil {
		return err
	}
	for i := 0; i < 60; i++ {
		if r, err := run(ctx, b.kubectlProc("exec", name, "--", "test", "-f", "/ready")); err == nil && r.ExitCode == 0 {
			break
		}
		time.Sleep(time.Second)
	}
	mb := float64(p7Bytes) / (1 << 20)
	var upFile, upKubectl, upCp, downArt, downKubectl, downCp, rss sample
	clean := func(paths ...string) {
		for _, p := range paths {
			os.RemoveAll(p)
		}
		_, _ = run(ctx, b.kubectlProc("exec", name, "--", "rm", "-rf", "/up-k", "/up-p"))
	}
	for round := 0; round < p7Rounds; round++ {
		// --file: the upload phase as the plugin measures it (exec start to checked).
		r, err := mustRun(ctx, proc{Name: b.plugin, Env: b.env, Timeout: 5 * time.Minute, Args: []string{"run", "-o", "json",
			"--name", fmt.Sprintf("%s-up%d", b.id, round), "--image", image, "--file", src, "--", "true"}})
		if err != nil {
			return err
		}
		var s p7Summary
		if err := json.Unmarshal([]byte(r.Stdout), &s); err != nil || s.Files == nil || s.Files.Bytes != p7Bytes {
			return fmt.Errorf("--file run: %v %s", err, oneLine(r.stderrText()))
		}
		upFile = append(upFile, mb/s.Files.Seconds)
		rss = append(rss, float64(r.MaxRSSKB)/1024)

		// kubectl cp and podtask cp into the running pod, whole process,
		// each first in every other round.
		pair := func(kArgs, pArgs []string) (k, p *procResult, err error) {
			kp := proc{Name: b.kubectl, Env: b.env, Timeout: 5 * time.Minute, Args: kArgs}
			pp := proc{Name: b.plugin, Env: b.env, Timeout: 5 * time.Minute, Args: pArgs}
			if round%2 == 1 {
				if p, err = mustRun(ctx, pp); err != nil {
					return nil, nil, err
				}
			}
			if k, err = mustRun(ctx, kp); err != nil {
				return nil, nil, err
			}
			if round%2 == 0 {
				p, err = mustRun(ctx, pp)
			}
			return k, p, err
		}
		k, p, err := pair([]string{"cp", src, name + ":/up-k"}, []string{"cp", src, name + ":/up-p"})
		if err != nil {
			return err
		}
		upKubectl = append(upKubectl, mb/k.Wall.Seconds())
		upCp = append(upCp, mb/p.Wall.Seconds())
		rss = append(rss, float64(p.MaxRSSKB)/1024)
		clean()

		// --artifact: the download phase as the plugin measures it.
		art := filepath.Join(dir, "art")
		r, err = mustRun(ctx, proc{Name: b.plugin, Env: b.env, Timeout: 5 * time.Minute, Args: []string{"run", "-o", "json",
			"--name", fmt.Sprintf("%s-down%d", b.id, round), "--image", image, "--artifact", "/out:" + art,
			"--", "sh", "-c", fmt.Sprintf("head -c %d /dev/urandom > /out/blob", p7Bytes)}})
		if err != nil {
			return err
		}
		s = p7Summary{}
		if err := json.Unmarshal([]byte(r.Stdout), &s); err != nil || len(s.Artifacts) != 1 || s.Artifacts[0].Bytes != p7Bytes {
			return fmt.Errorf("--artifact run: %v %s", err, oneLine(r.stderrText()))
		}
		downArt = append(downArt, mb/s.Artifacts[0].Seconds)
		rss = append(rss, float64(r.MaxRSSKB)/1024)
		clean(art)

		k, p, err = pair([]string{"cp", name + ":/data", filepath.Join(dir, "down-k")}, []string{"cp", name + ":/data", filepath.Join(dir, "down-p")})
		if err != nil {
			return err
		}
		downKubectl = append(downKubectl, mb/k.Wall.Seconds())
		downCp = append(downCp, mb/p.Wall.Seconds())
		rss = append(rss, float64(p.MaxRSSKB)/1024)
		clean(filepath.Join(dir, "down-k"), filepath.Join(dir, "down-p"))
	}
	n := itoa(p7Rounds)
	add := func(metric string, pt, kc sample, goal float64) {
		rt := pt.median() / kc.median()
		b.rows = append(b.rows, row{Metric: metric, Podtask: pt.summary("%.0f", "MiB/s"), Kubectl: kc.summary("%.0f", "MiB/s"),
			Ratio: fmt.Sprintf("%.2f×", rt), Goal: fmt.Sprintf("≥ %.1f×", goal), Holds: yesNo(rt >= goal), N: n})
	}
	add("P10 upload 200 MB: --file against kubectl cp into a running pod", upFile, upKubectl, 1.0)
	add("P10 upload 200 MB: podtask cp against kubectl cp, same pod", upCp, upKubectl, 1.0)
	add("P10 download 200 MB: --artifact against kubectl cp from a running pod", downArt, downKubectl, 1.0)
	add("P10 download 200 MB: podtask cp against kubectl cp, same pod", downCp, downKubectl, 1.0)
	b.rows = append(b.rows, row{Metric: "P10 peak RSS of the plugin during the transfers", Podtask: rss.summary("%.1f", "MB"),
		Goal: "≤ 80 MB", Holds: yesNo(rss.max() <= 80), N: itoa(len(rss))})
	b.details = append(b.details, "P10: 200 MiB of random data in four files in nested folders. --file and --artifact "+
		"throughput is what the plugin reports in `run -o json` (files.seconds, artifacts[].seconds: from the exec's start "+
		"to the files checked in the pod by their SHA-256, or to the last entry written locally), against the wall time of "+
		"`kubectl cp` (process start to exit) into and out of a running busybox pod; the cp rows compare both tools' whole "+
		"processes on that pod. Rounds interleave all six (kubectl cp and podtask cp take turns going first); peak RSS is the kernel's maxrss of every plugin process.")
	return nil
}
