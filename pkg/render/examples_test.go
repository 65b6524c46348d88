package render

import (
	"os"
	"path/filepath"
	"testing"
)

// TestExamples renders every task file in examples/.
func TestExamples(t *testing.T) {
	files, err := filepath.Glob("../../examples/*.yaml")
	if err != nil || len(files) < 4 {
		t.Fatalf("examples: %v %v", files, err)
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			task, err := ParseTaskFile(f, data)
			if err != nil {
				t.Fatal(err)
			}
			var opts Options
			if task.PodTemplateFile != "" {
				p := filepath.Join(filepath.Dir(f), task.PodTemplateFile)
				b, err := os.ReadFile(p)
				if err != nil {
					t.Fatal(err)
				}
				opts.TemplateFile = &File{Path: p, Data: b}
			}
			pod, err := Render(task, opts)
			if err != nil {
				t.Fatal(err)
			}
			if c := findContainer(pod.Spec.Containers, task.BaseContainerName); c == nil || c.Image == "" {
				t.Errorf("base container: %+v", pod.Spec.Containers)
			}
		})
	}
}
