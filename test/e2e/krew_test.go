package e2e

// Krew: the release archives and the manifest are checked with Krew's own
// tools, built from the Go module proxy by hack/krew-tools.sh: the manifest
// passes validate-krew-manifest, every archive installs with a real
// 'kubectl krew install --manifest --archive' into a temporary KREW_ROOT
// (as the validator's install step does, but offline), and the installed
// plugin runs as 'kubectl podtask' through the cluster's kubectl, with
// completion through kubectl's plugin completion.

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/podtask-dev/kubectl-podtask/test/e2e/e2eutil"
)

// krewDist returns the folder of the release archives: $PODTASK_DIST, or
// <repo>/dist when 'make dist' filled it, else a temporary folder where
// hack/dist.sh builds the archive of this machine's platform only.
func krewDist(t *testing.T, root string) string {
	t.Helper()
	if d := os.Getenv("PODTASK_DIST"); d != "" {
		return d
	}
	dist := filepath.Join(root, "dist")
	if _, err := os.Stat(filepath.Join(dist, "SHA256SUMS")); err == nil {
		return dist
	}
	dist = t.TempDir()
	t.Logf("no dist/ (run 'make dist' for every platform): building %s/%s only into %s", runtime.GOOS, runtime.GOARCH, dist)
	shellRun(t, root, []string{"DIST=" + dist, "PLATFORMS=" + runtime.GOOS + "/" + runtime.GOARCH}, 20*time.Minute, "hack/dist.sh")
	return dist
}

// krewTools builds (once, cached outside the repository) kubectl-krew and
// validate-krew-manifest, and returns their folder.
func krewTools(t *testing.T, root string) string {
	t.Helper()
	out := shellRun(t, root, nil, 15*time.Minute, "hack/krew-tools.sh")
	dir := strings.TrimSpace(finalLine(out))
	for _, b := range []string{"kubectl-krew", "validate-krew-manifest"} {
		if _, err := os.Stat(filepath.Join(dir, b)); err != nil {
			t.Fatalf("hack/krew-tools.sh did not build %s: %v", b, err)
		}
	}
	return dir
}

func TestKrewManifestValidates(t *testing.T) {
	root := repoRootDir(t)
	tools := krewTools(t, root)
	dist := krewDist(t, root)

	// The committed manifest and one generated from dist/ both pass Krew's
	// validator. -skip-install: its install step downloads the uri; the
	// offline installs below do the same checks with the local archives.
	generated := filepath.Join(t.TempDir(), "podtask.yaml")
	shellRun(t, root, []string{"DIST=" + dist, "OUT=" + generated}, time.Minute, "hack/krew-manifest.sh")
	for _, m := range []string{filepath.Join(root, "plugins", "podtask.yaml"), generated} {
		out := shellRun(t, root, nil, time.Minute, filepath.Join(tools, "validate-krew-manifest"), "-manifest", m, "-skip-install")
		if !strings.Contains(out, "structural validation OK") || !strings.Contains(out, "no overlapping spec.platform[].selector") {
			t.Errorf("validate-krew-manifest %s did not report success:\n%s", m, out)
		}
	}

	// The committed manifest covers the six platforms, with release URIs
	// and lowercase sums, and mentions the completion step.
	committed, err := os.ReadFile(filepath.Join(root, "plugins", "podtask.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"linux_amd64.tar.gz", "linux_arm64.tar.gz", "darwin_amd64.tar.gz", "darwin_arm64.tar.gz",
		"windows_amd64.zip", "windows_arm64.zip"} {
		if !regexp.MustCompile(`uri: https://github\.com/podtask-dev/kubectl-podtask/releases/download/v[^/]+/kubectl-podtask_v[^_]+_` + regexp.QuoteMeta(p)).Match(committed) {
			t.Errorf("plugins/podtask.yaml has no release uri for %s", p)
		}
	}
	if n := len(regexp.MustCompile(`(?m)^    sha256: [0-9a-f]{64}$`).FindAll(committed, -1)); n != 6 {
		t.Errorf("plugins/podtask.yaml has %d lowercase sha256 sums, want 6", n)
	}
	if !bytes.Contains(committed, []byte("kubectl_complete-podtask")) {
		t.Errorf("plugins/podtask.yaml's caveats do not explain the completion helper")
	}

	// Every archive in dist/ installs for its platform, with LICENSE and
	// the completion helper next to the binary.
	sums, err := os.ReadFile(filepath.Join(dist, "SHA256SUMS"))
	if err != nil {
		t.Fatal(err)
	}
	version := strings.TrimSpace(readTextFile(t, filepath.Join(dist, "VERSION")))
	re := regexp.MustCompile(`kubectl-podtask_v\S+_([a-z]+)_([a-z0-9]+)\.(tar\.gz|zip)`)
	archives := re.FindAllStringSubmatch(string(sums), -1)
	if len(archives) == 0 {
		t.Fatalf("no archives in %s/SHA256SUMS", dist)
	}
	for _, a := range archives {
		file, goos, arch := a[0], a[1], a[2]
		t.Run(goos+"-"+arch, func(t *testing.T) {
			krewRoot := t.TempDir()
			env := []string{"KREW_ROOT=" + krewRoot, "KREW_OS=" + goos, "KREW_ARCH=" + arch, "KREW_NO_UPGRADE_CHECK=1"}
			out := shellRun(t, root, env, 2*time.Minute, filepath.Join(tools, "kubectl-krew"),
				"install", "--manifest="+generated, "--archive="+filepath.Join(dist, file))
			if !strings.Contains(out, `Installed plugin: podtask`) {
				t.Errorf("krew install did not say it installed podtask:\n%s", out)
			}
			store := filepath.Join(krewRoot, "store", "podtask", version)
			bin := "kubectl-podtask"
			if goos == "windows" {
				bin += ".exe"
			}
			for _, f := range []string{bin, "LICENSE", "kubectl_complete-podtask"} {
				if _, err := os.Stat(filepath.Join(store, f)); err != nil {
					t.Errorf("%s not installed: %v", f, err)
				}
			}
			if goos == "windows" {
				if _, err := os.Stat(filepath.Join(store, "kubectl_complete-podtask.cmd")); err != nil {
					t.Errorf("kubectl_complete-podtask.cmd not installed: %v", err)
				}
			}
			if !strings.Contains(out, "kubectl_complete-podtask") {
				t.Errorf("krew install did not print the completion caveat:\n%s", out)
			}
		})
	}
}

func TestKrewInstallRunsThroughKubectl(t *testing.T) {
	kubectl := e2eutil.Kubectl(t) // skips without a cluster
	kubeconfig := e2eutil.Kubeconfig(t)
	root := repoRootDir(t)
	tools := krewTools(t, root)
	dist := krewDist(t, root)
	version := strings.TrimSpace(readTextFile(t, filepath.Join(dist, "VERSION")))
	archive := filepath.Join(dist, "kubectl-podtask_"+version+"_linux_amd64.tar.gz")
	if runtime.GOOS != "linux" || runtime.GOARCH != "amd64" {
		t.Skipf("the installed plugin must run here; this is %s/%s", runtime.GOOS, runtime.GOARCH)
	}
	manifest := filepath.Join(t.TempDir(), "podtask.yaml")
	shellRun(t, root, []string{"DIST=" + dist, "OUT=" + manifest}, time.Minute, "hack/krew-manifest.sh")

	// kubectl krew, through the cluster's kubectl, into an empty KREW_ROOT.
	krewRoot := t.TempDir()
	path := strings.Join([]string{filepath.Join(krewRoot, "bin"), tools, filepath.Dir(kubectl), "/usr/bin", "/bin"}, string(os.PathListSeparator))
	env := []string{"PATH=" + path, "HOME=" + t.TempDir(), "KREW_ROOT=" + krewRoot, "KREW_NO_UPGRADE_CHECK=1", "KUBECONFIG=" + kubeconfig}
	out := shellRun(t, root, env, 2*time.Minute, kubectl, "krew", "install", "--manifest="+manifest, "--archive="+archive)
	if !strings.Contains(out, "Installed plugin: podtask") {
		t.Fatalf("kubectl krew install:\n%s", out)
	}
	// 'krew list' wants the index, which this offline install never fetched;
	// its receipt is what it would read.
	if receipt := readTextFile(t, filepath.Join(krewRoot, "receipts", "podtask.yaml")); !strings.Contains(receipt, "version: "+version) {
		t.Errorf("krew's receipt does not record %s:\n%s", version, receipt)
	}
	out = shellRun(t, root, env, time.Minute, kubectl, "plugin", "list")
	if !strings.Contains(out, filepath.Join(krewRoot, "bin", "kubectl-podtask")) {
		t.Errorf("kubectl plugin list does not find the Krew-installed plugin:\n%s", out)
	}

	// kubectl podtask version: the release's version, its commit, and the server's.
	out = shellRun(t, root, env, time.Minute, kubectl, "podtask", "version")
	if !strings.Contains(out, "Client Version: "+version+" (commit ") {
		t.Errorf("kubectl podtask version does not print %s and its commit:\n%s", version, out)
	}
	if !regexp.MustCompile(`(?m)^Server Version: v1\.\d+\.\d+`).MatchString(out) {
		t.Errorf("kubectl podtask version does not print the server's version:\n%s", out)
	}
	out = shellRun(t, root, env, time.Minute, kubectl, "podtask", "version", "--client", "-o", "json")
	var v struct {
		Client struct{ Version, Commit, BuildDate, Platform string } `json:"clientVersion"`
		Server *struct{}                                             `json:"serverVersion"`
	}
	if err := json.Unmarshal([]byte(out), &v); err != nil {
		t.Fatalf("version -o json: %v\n%s", err, out)
	}
	if v.Client.Version != version || v.Client.Commit == "" || v.Client.Commit == "unknown" ||
		!regexp.MustCompile(`^\d{4}-\d\d-\d\dT`).MatchString(v.Client.BuildDate) || v.Client.Platform != "linux/amd64" || v.Server != nil {
		t.Errorf("version --client -o json = %+v (server %v), want version %s, a commit, a build date, linux/amd64 and no server", v.Client, v.Server, version)
	}

	// Completion: link the helper as the caveats say, then ask kubectl.
	helper := filepath.Join(krewRoot, "store", "podtask", version, "kubectl_complete-podtask")
	if err := os.Symlink(helper, filepath.Join(krewRoot, "bin", "kubectl_complete-podtask")); err != nil {
		t.Fatal(err)
	}
	complete := func(args ...string) []string {
		t.Helper()
		// stdout only: kubectl writes its completion debug lines to stderr.
		cmd := exec.Command(kubectl, append([]string{"__complete", "podtask"}, args...)...)
		cmd.Env = append(os.Environ(), env...)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		b, err := cmd.Output()
		if err != nil {
			t.Fatalf("kubectl __complete podtask %q: %v\n%s", args, err, stderr.String())
		}
		out := string(b)
		var words []string
		for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
			if w, _, _ := strings.Cut(l, "\t"); w != "" && !strings.HasPrefix(w, ":") {
				words = append(words, w)
			}
		}
		return words
	}
	for _, c := range []struct {
		args []string
		want []string
	}{
		{[]string{""}, []string{"run", "render", "attach", "xcom", "list", "create-pull-secret", "version"}},
		{[]string{"run", "--on-finish-action", ""}, []string{"delete_pod", "keep_pod", "delete_succeeded_pod", "delete_active_pod"}},
		{[]string{"run", "--xcom-mode", ""}, []string{"sidecar", "termination-message"}},
		{[]string{"list", "-o", ""}, []string{"wide", "json", "yaml"}},
		{[]string{"render", "--from", ""}, []string{"cronjob/", "job/", "deployment/", "pod/"}},
		{[]string{"list", "-n", ""}, []string{"default", "kube-system"}},
		{[]string{"run", "--service-account", ""}, []string{"default"}},
		{[]string{"version", "--context", ""}, contextNames(t, kubectl, kubeconfig)},
	} {
		got := complete(c.args...)
		for _, w := range c.want {
			if !inList(got, w) {
				t.Errorf("kubectl podtask %s<TAB> = %q, want %q among them", strings.Join(c.args, " "), got, w)
			}
		}
	}

	// Secrets and config maps of the namespace: only pull secrets for
	// --image-pull-secret, keys (never values) for --secret-env.
	c := e2eutil.Client(t)
	pull, opaque, cm := e2eutil.UniqueName("krew-pull"), e2eutil.UniqueName("krew-opaque"), e2eutil.UniqueName("krew-cm")
	sctx, scancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer scancel()
	for _, s := range []*corev1.Secret{
		{ObjectMeta: metav1.ObjectMeta{Name: pull}, Type: corev1.SecretTypeDockerConfigJson,
			StringData: map[string]string{corev1.DockerConfigJsonKey: `{"auths":{}}`}},
		{ObjectMeta: metav1.ObjectMeta{Name: opaque}, StringData: map[string]string{"password": "krew-v4lue"}},
	} {
		if _, err := c.Secrets(e2eutil.Namespace).Create(sctx, s, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		name := s.Name
		t.Cleanup(func() { _ = c.Secrets(e2eutil.Namespace).Delete(context.Background(), name, metav1.DeleteOptions{}) })
	}
	if _, err := c.ConfigMaps(e2eutil.Namespace).Create(sctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: cm}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.ConfigMaps(e2eutil.Namespace).Delete(context.Background(), cm, metav1.DeleteOptions{}) })
	if got := complete("run", "--image-pull-secret", ""); !inList(got, pull) || inList(got, opaque) {
		t.Errorf("--image-pull-secret <TAB> = %q, want %s and not %s", got, pull, opaque)
	}
	if got := complete("run", "--env-from-secret", ""); !inList(got, pull) || !inList(got, opaque) {
		t.Errorf("--env-from-secret <TAB> = %q, want %s and %s", got, pull, opaque)
	}
	if got := complete("run", "--secret-env", "PASS="); !inList(got, "PASS="+opaque+":") {
		t.Errorf("--secret-env PASS=<TAB> = %q, want PASS=%s:", got, opaque)
	}
	if got := complete("run", "--secret-env", "PASS="+opaque+":"); len(got) != 1 || got[0] != "PASS="+opaque+":password" {
		t.Errorf("--secret-env PASS=%s:<TAB> = %q, want only its key", opaque, got)
	}
	if got := complete("render", "--env-from-configmap", ""); !inList(got, cm) {
		t.Errorf("--env-from-configmap <TAB> = %q, want %s", got, cm)
	}

	// Task pods complete for attach and xcom, with their task names for --task.
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	task := e2eutil.UniqueName("krew-complete")
	stdout, stderr, code := e2eutil.RunPlugin(t, ctx, "", "run", "--image", e2eutil.BusyboxImage, "--name", task,
		"--on-finish-action", "keep_pod", "-o", "json", "--", "true")
	if code != 0 {
		t.Fatalf("run: exit %d\n%s\n%s", code, stdout, stderr)
	}
	var s struct {
		Pod string `json:"pod"`
	}
	if err := json.Unmarshal([]byte(stdout), &s); err != nil || s.Pod == "" {
		t.Fatalf("run -o json: %v\n%s", err, stdout)
	}
	e2eutil.CleanupPod(t, e2eutil.Namespace, s.Pod)
	for _, cmd := range []string{"attach", "xcom"} {
		if got := complete(cmd, ""); !inList(got, s.Pod) {
			t.Errorf("kubectl podtask %s <TAB> = %q, want the kept task pod %s", cmd, got, s.Pod)
		}
	}
	if got := complete("attach", "--task", ""); !inList(got, task) {
		t.Errorf("kubectl podtask attach --task <TAB> = %q, want task %s", got, task)
	}
}

func contextNames(t *testing.T, kubectl, kubeconfig string) []string {
	t.Helper()
	out := shellRun(t, "", []string{"KUBECONFIG=" + kubeconfig}, time.Minute, kubectl, "config", "get-contexts", "-o", "name")
	return strings.Fields(out)
}

func inList(list []string, s string) bool {
	for _, w := range list {
		if w == s {
			return true
		}
	}
	return false
}

// shellRun runs a command in dir with env added to the environment, fails the
// test when it fails, and returns its stdout and stderr together.
func shellRun(t *testing.T, dir string, env []string, timeout time.Duration, name string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	start := time.Now()
	err := cmd.Run()
	t.Logf("%s %s: %v in %s", filepath.Base(name), strings.Join(args, " "), err, time.Since(start).Round(time.Millisecond))
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out.String())
	}
	return out.String()
}

func finalLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}

func readTextFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// repoRootDir is the repository root: the folder of go.mod above the test.
func repoRootDir(t *testing.T) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if b, err := os.ReadFile(filepath.Join(dir, "go.mod")); err == nil &&
			bytes.Contains(b, []byte("module github.com/podtask-dev/kubectl-podtask\n")) {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("no go.mod of github.com/podtask-dev/kubectl-podtask above the working directory")
		}
		dir = parent
	}
}
