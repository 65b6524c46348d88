package render

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestFileTargets(t *testing.T) {
	got, err := FileTargets([]FileSpec{{Local: "./fix.py"}, {Local: "dir/", Path: "lib/x"}, {Local: "a", Path: "/opt/a"}, {Local: "b", Path: "/podtask/files/b2"}})
	if err != nil {
		t.Fatal(err)
	}
	want := []FileTarget{
		{Local: "./fix.py", Path: "/podtask/files/fix.py", Entry: "files/fix.py"},
		{Local: "dir/", Path: "/podtask/files/lib/x", Entry: "files/lib/x"},
		{Local: "a", Path: "/opt/a", Entry: "abs/2"},
		{Local: "b", Path: "/podtask/files/b2", Entry: "files/b2"},
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("[%d] = %+v, want %+v", i, got[i], want[i])
		}
	}
	for _, bad := range [][]FileSpec{
		{{Local: "x", Path: "../etc/passwd"}},
		{{Local: "."}},
		{{Local: "x", Path: "/"}},
		{{Local: "x"}, {Local: "y/x"}},
		{{Local: "x", Path: "/airflow/xcom/return.json"}},
	} {
		if _, err := FileTargets(bad); err == nil {
			t.Errorf("%+v accepted", bad)
		}
	}
}

func TestParseSpecs(t *testing.T) {
	f, err := ParseFileSpec("./a:b/c.py")
	if err != nil || f != (FileSpec{Local: "./a", Path: "b/c.py"}) {
		t.Fatalf("%+v %v", f, err)
	}
	a, err := ParseArtifactSpec("/out:./here")
	if err != nil || a != (ArtifactSpec{Path: "/out", Local: "./here"}) {
		t.Fatalf("%+v %v", a, err)
	}
	var task Task
	if err := json.Unmarshal([]byte(`{"files":["x.py", {"local":"y","path":"/opt/y"}],"artifacts":["/out", {"path":"/logs","local":"l"}]}`), &task); err != nil {
		t.Fatal(err)
	}
	if len(task.Files) != 2 || task.Files[1].Path != "/opt/y" || task.Artifacts[1].Local != "l" {
		t.Fatalf("%+v", task)
	}
	if _, err := ArtifactTargets([]ArtifactSpec{{Path: "out"}}); err == nil || !strings.Contains(err.Error(), "absolute") {
		t.Fatalf("relative artifact: %v", err)
	}
}

func TestRenderFilesAndArtifacts(t *testing.T) {
	task := &Task{Name: "t", Image: "busybox:1.35", Files: []FileSpec{{Local: "fix.py"}, {Local: "cfg", Path: "/etc/app"}},
		Artifacts: []ArtifactSpec{{Path: "/out"}}, InitContainers: nil}
	pod, err := Render(task, Options{RunID: "r", NameSuffix: "x"})
	if err != nil {
		t.Fatal(err)
	}
	if len(pod.Spec.InitContainers) != 1 || pod.Spec.InitContainers[0].Name != FilesInitName {
		t.Fatalf("init containers %+v", pod.Spec.InitContainers)
	}
	if len(pod.Spec.Containers) != 2 || pod.Spec.Containers[1].Name != ArtifactsSidecarName {
		t.Fatalf("containers %+v", pod.Spec.Containers)
	}
	mounts := map[string]string{}
	for _, m := range pod.Spec.Containers[0].VolumeMounts {
		mounts[m.MountPath] = m.Name + ":" + m.SubPath
	}
	for p, want := range map[string]string{"/podtask/files": "podtask-files:files", "/etc/app": "podtask-files:abs/1", "/out": "podtask-artifacts:0"} {
		if mounts[p] != want {
			t.Errorf("mount %s = %q, want %q", p, mounts[p], want)
		}
	}
	if _, err := Render(&Task{Name: "t", Image: "i", Files: []FileSpec{{Local: "x"}}, Volumes: nil,
		InitContainers: nil, Artifacts: []ArtifactSpec{{Path: "rel"}}}, Options{}); err == nil {
		t.Fatal("relative artifact path accepted")
	}
}
